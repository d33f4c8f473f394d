//! Describe-grade text from an object's JSON, in the spirit of `kubectl describe` (same field
//! names and values, `Key:  value` lines; the alignment is ours). For a pod: what matters on
//! call (identity, node, status and reason, containers with image, state, last state, ready,
//! restarts; conditions; tolerations; events). For a node and a DaemonSet a shorter version.
//! Times are RFC 1123 with a numeric zone, in UTC (kubectl prints the local zone).

use serde_json::Value;

use super::{Fetched, Kind};

/// The lines of `kubectl describe`-like text for `fetched`.
pub fn describe(kind: Kind, fetched: &Fetched, now: i64) -> Vec<String> {
    let mut w = Writer::default();
    let o = &fetched.object;
    match kind {
        Kind::Pod => pod(&mut w, o),
        Kind::Node => node(&mut w, o),
        Kind::DaemonSet => daemonset(&mut w, o),
    }
    events(&mut w, &fetched.events, now);
    w.lines
}

#[derive(Default)]
struct Writer {
    lines: Vec<String>,
}

impl Writer {
    /// `Key:  value` at `level` (two spaces a level), the value column aligned per level.
    fn field(&mut self, level: usize, key: &str, value: impl AsRef<str>) {
        let indent = "  ".repeat(level);
        let width = if level == 0 { 18 } else { 16 };
        let head = format!("{indent}{key}:");
        let value = value.as_ref();
        if value.is_empty() {
            self.lines.push(head);
        } else {
            self.lines.push(format!("{head:<w$}{value}", w = width + indent.len()));
        }
    }

    /// A field only when it has a value (kubectl leaves empty ones out).
    fn optional(&mut self, level: usize, key: &str, value: &str) {
        if !value.is_empty() {
            self.field(level, key, value);
        }
    }

    /// A field whose values go one a line, aligned under the first; `<none>` when empty.
    fn multi(&mut self, level: usize, key: &str, values: Vec<String>) {
        let mut it = values.into_iter();
        match it.next() {
            None => self.field(level, key, "<none>"),
            Some(first) => {
                self.field(level, key, first);
                let pad = " ".repeat(2 * level + if level == 0 { 18 } else { 16 });
                for v in it {
                    self.lines.push(format!("{pad}{v}"));
                }
            }
        }
    }

    fn line(&mut self, s: impl Into<String>) {
        self.lines.push(s.into());
    }
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    get(v, path).and_then(Value::as_str).unwrap_or_default()
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

fn num(v: &Value, path: &[&str]) -> String {
    get(v, path).map(|n| if n.is_null() { "0".into() } else { n.to_string() }).unwrap_or_else(|| "0".into())
}

/// RFC 3339 (as the API sends) → `Mon, 02 Jan 2006 15:04:05 +0000`.
fn time(t: &str) -> String {
    match t.parse::<jiff::Timestamp>() {
        Ok(ts) => ts.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string(),
        Err(_) => t.to_string(),
    }
}

/// `k=v` lines, sorted by key.
fn labels(v: Option<&Value>) -> Vec<String> {
    let Some(m) = v.and_then(Value::as_object) else { return Vec::new() };
    let mut out: Vec<String> = m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect();
    out.sort();
    out
}

fn annotations(v: Option<&Value>) -> Vec<String> {
    let Some(m) = v.and_then(Value::as_object) else { return Vec::new() };
    let mut out: Vec<String> =
        m.iter().map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default().replace('\n', " "))).collect();
    out.sort();
    out
}

fn controller(o: &Value) -> Option<String> {
    let owners = get(o, &["metadata", "ownerReferences"])?.as_array()?;
    owners
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .map(|r| format!("{}/{}", s(r, &["kind"]), s(r, &["name"])))
}

/// `kubectl describe`'s toleration text: `key[=value]:effect [op=Exists] [for Ns]`.
fn tolerations(v: Option<&Value>) -> Vec<String> {
    let Some(list) = v.and_then(Value::as_array) else { return Vec::new() };
    let mut out: Vec<String> = list
        .iter()
        .map(|t| {
            let (key, value, effect) = (s(t, &["key"]), s(t, &["value"]), s(t, &["effect"]));
            let mut out = key.to_string();
            if !value.is_empty() {
                out.push_str(&format!("={value}"));
            }
            if !effect.is_empty() {
                out.push_str(&format!(":{effect}"));
            }
            if s(t, &["operator"]) == "Exists" && value.is_empty() {
                out.push_str(if key.is_empty() && effect.is_empty() { "op=Exists" } else { " op=Exists" });
            }
            if let Some(secs) = get(t, &["tolerationSeconds"]).and_then(Value::as_i64) {
                out.push_str(&format!(" for {secs}s"));
            }
            out
        })
        .collect();
    // kubectl lists them sorted.
    out.sort();
    out
}

fn conditions(w: &mut Writer, o: &Value, with_reason: bool) {
    let Some(list) = get(o, &["status", "conditions"]).and_then(Value::as_array) else { return };
    w.line("Conditions:");
    // kubectl writes each row's cells with a trailing space ("%v \t%v \n") through tabwriter.
    let cell = |c: &Value, k: &str| format!("{} ", s(c, &[k]));
    let lines = if with_reason {
        let mut rows = vec![["Type", "Status", "Reason", "Message"].map(String::from)];
        rows.extend(list.iter().map(|c| [cell(c, "type"), cell(c, "status"), cell(c, "reason"), cell(c, "message")]));
        tabulate(&rows)
    } else {
        let mut rows = vec![["Type", "Status"].map(String::from)];
        rows.extend(list.iter().map(|c| [cell(c, "type"), cell(c, "status")]));
        tabulate(&rows)
    };
    for line in lines {
        w.line(format!("  {}", line.trim_end()));
    }
}

fn pod(w: &mut Writer, o: &Value) {
    w.field(0, "Name", s(o, &["metadata", "name"]));
    w.field(0, "Namespace", s(o, &["metadata", "namespace"]));
    w.field(0, "Priority", num(o, &["spec", "priority"]));
    w.optional(0, "Service Account", s(o, &["spec", "serviceAccountName"]));
    let node = s(o, &["spec", "nodeName"]);
    let host_ip = s(o, &["status", "hostIP"]);
    let node_text = match (node, host_ip) {
        ("", _) => "<none>".to_string(),
        (n, "") => n.to_string(),
        (n, ip) => format!("{n}/{ip}"),
    };
    w.field(0, "Node", node_text);
    let start = s(o, &["status", "startTime"]);
    if !start.is_empty() {
        w.field(0, "Start Time", time(start));
    }
    w.multi(0, "Labels", labels(get(o, &["metadata", "labels"])));
    w.multi(0, "Annotations", annotations(get(o, &["metadata", "annotations"])));
    let deleting = s(o, &["metadata", "deletionTimestamp"]);
    if deleting.is_empty() {
        w.field(0, "Status", s(o, &["status", "phase"]));
    } else {
        w.field(0, "Status", format!("Terminating (lasts since {})", time(deleting)));
    }
    w.optional(0, "Reason", s(o, &["status", "reason"]));
    w.optional(0, "Message", s(o, &["status", "message"]));
    let ip = s(o, &["status", "podIP"]);
    w.field(0, "IP", ip);
    if let Some(c) = controller(o) {
        w.field(0, "Controlled By", c);
    }
    for (spec_key, status_key, title) in [
        ("initContainers", "initContainerStatuses", "Init Containers"),
        ("containers", "containerStatuses", "Containers"),
    ] {
        let Some(list) = get(o, &["spec", spec_key]).and_then(Value::as_array).filter(|l| !l.is_empty()) else {
            continue;
        };
        let statuses = get(o, &["status", status_key]).and_then(Value::as_array);
        w.line(format!("{title}:"));
        for c in list {
            let name = s(c, &["name"]);
            let st = statuses.and_then(|l| l.iter().find(|x| s(x, &["name"]) == name));
            container(w, c, st);
        }
    }
    conditions(w, o, false);
    w.multi(0, "Node-Selectors", labels(get(o, &["spec", "nodeSelector"])));
    w.multi(0, "Tolerations", tolerations(get(o, &["spec", "tolerations"])));
}

fn container(w: &mut Writer, c: &Value, st: Option<&Value>) {
    w.line(format!("  {}:", s(c, &["name"])));
    if let Some(st) = st {
        w.optional(2, "Container ID", s(st, &["containerID"]));
    }
    w.field(2, "Image", s(c, &["image"]));
    if let Some(st) = st {
        w.field(2, "Image ID", s(st, &["imageID"]));
    }
    let ports: Vec<String> = get(c, &["ports"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| format!("{}/{}", num(p, &["containerPort"]), s(p, &["protocol"])))
        .collect();
    w.field(2, "Port", if ports.is_empty() { "<none>".to_string() } else { ports.join(", ") });
    match st {
        Some(st) => {
            state(w, "State", st.get("state"));
            if st.get("lastState").and_then(Value::as_object).is_some_and(|m| !m.is_empty()) {
                state(w, "Last State", st.get("lastState"));
            }
            let ready = st.get("ready").and_then(Value::as_bool).unwrap_or(false);
            w.field(2, "Ready", if ready { "True" } else { "False" });
            w.field(2, "Restart Count", num(st, &["restartCount"]));
        }
        None => {
            w.field(2, "State", "Waiting");
            w.field(2, "Ready", "False");
            w.field(2, "Restart Count", "0");
        }
    }
}

/// `State:` / `Last State:` of a container and its details one level deeper.
fn state(w: &mut Writer, title: &str, v: Option<&Value>) {
    let v = v.and_then(Value::as_object);
    let Some((which, d)) = v.and_then(|m| m.iter().next()) else {
        w.field(2, title, "Waiting");
        return;
    };
    match which.as_str() {
        "running" => {
            w.field(2, title, "Running");
            w.field(3, "Started", time(s(d, &["startedAt"])));
        }
        "waiting" => {
            w.field(2, title, "Waiting");
            w.optional(3, "Reason", s(d, &["reason"]));
            w.optional(3, "Message", s(d, &["message"]));
        }
        _ => {
            w.field(2, title, "Terminated");
            w.optional(3, "Reason", s(d, &["reason"]));
            w.optional(3, "Message", s(d, &["message"]));
            w.field(3, "Exit Code", num(d, &["exitCode"]));
            w.field(3, "Started", time(s(d, &["startedAt"])));
            w.field(3, "Finished", time(s(d, &["finishedAt"])));
        }
    }
}

fn node(w: &mut Writer, o: &Value) {
    w.field(0, "Name", s(o, &["metadata", "name"]));
    w.multi(0, "Labels", labels(get(o, &["metadata", "labels"])));
    w.field(0, "CreationTimestamp", time(s(o, &["metadata", "creationTimestamp"])));
    let taints: Vec<String> = get(o, &["spec", "taints"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| {
            let v = s(t, &["value"]);
            let kv = if v.is_empty() { s(t, &["key"]).to_string() } else { format!("{}={v}", s(t, &["key"])) };
            format!("{kv}:{}", s(t, &["effect"]))
        })
        .collect();
    w.multi(0, "Taints", taints);
    let unsched = get(o, &["spec", "unschedulable"]).and_then(Value::as_bool).unwrap_or(false);
    w.field(0, "Unschedulable", if unsched { "true" } else { "false" });
    conditions(w, o, true);
    let addrs: Vec<String> = get(o, &["status", "addresses"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|a| format!("{}: {}", s(a, &["type"]), s(a, &["address"])))
        .collect();
    w.multi(0, "Addresses", addrs);
    w.line("System Info:");
    for (k, f) in [
        ("Kernel Version", "kernelVersion"),
        ("OS Image", "osImage"),
        ("Container Runtime Version", "containerRuntimeVersion"),
        ("Kubelet Version", "kubeletVersion"),
    ] {
        w.line(format!("  {k}:  {}", s(o, &["status", "nodeInfo", f])));
    }
    w.optional(0, "PodCIDR", s(o, &["spec", "podCIDR"]));
    w.optional(0, "ProviderID", s(o, &["spec", "providerID"]));
}

fn daemonset(w: &mut Writer, o: &Value) {
    w.field(0, "Name", s(o, &["metadata", "name"]));
    w.field(0, "Namespace", s(o, &["metadata", "namespace"]));
    let sel = labels(get(o, &["spec", "selector", "matchLabels"])).join(",");
    w.field(0, "Selector", sel);
    let ns = labels(get(o, &["spec", "template", "spec", "nodeSelector"])).join(",");
    w.field(0, "Node-Selector", if ns.is_empty() { "<none>".to_string() } else { ns });
    w.multi(0, "Labels", labels(get(o, &["metadata", "labels"])));
    w.multi(0, "Annotations", annotations(get(o, &["metadata", "annotations"])));
    for (k, f) in [
        ("Desired Number of Nodes Scheduled", "desiredNumberScheduled"),
        ("Current Number of Nodes Scheduled", "currentNumberScheduled"),
        ("Number of Nodes Scheduled with Up-to-date Pods", "updatedNumberScheduled"),
        ("Number of Nodes Scheduled with Available Pods", "numberAvailable"),
        ("Number of Nodes Misscheduled", "numberMisscheduled"),
    ] {
        w.line(format!("{k}: {}", num(o, &["status", f])));
    }
    w.field(0, "Number Ready", num(o, &["status", "numberReady"]));
    let strategy = s(o, &["spec", "updateStrategy", "type"]);
    w.field(0, "Update Strategy", strategy);
    if let Some(ru) = get(o, &["spec", "updateStrategy", "rollingUpdate"]) {
        for (k, f) in [("Max Unavailable", "maxUnavailable"), ("Max Surge", "maxSurge")] {
            if let Some(v) = ru.get(f) {
                w.field(1, k, v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
            }
        }
    }
    w.line("Pod Template:");
    w.multi(1, "Labels", labels(get(o, &["spec", "template", "metadata", "labels"])));
    let containers = get(o, &["spec", "template", "spec", "containers"]).and_then(Value::as_array);
    w.line("  Containers:");
    for c in containers.into_iter().flatten() {
        w.line(format!("   {}:", s(c, &["name"])));
        w.field(2, "Image", s(c, &["image"]));
    }
    w.multi(1, "Tolerations", tolerations(get(o, &["spec", "template", "spec", "tolerations"])));
}

/// `Events:` as `kubectl describe` lists them: type, reason, age (count), source, message.
fn events(w: &mut Writer, events: &Result<Vec<Value>, String>, now: i64) {
    let list = match events {
        Err(why) => {
            w.field(0, "Events", format!("<cannot list: {why}>"));
            return;
        }
        Ok(list) if list.is_empty() => {
            w.field(0, "Events", "<none>");
            return;
        }
        Ok(list) => list,
    };
    let mut list: Vec<&Value> = list.iter().collect();
    let when = |e: &Value| {
        let t = [&["lastTimestamp"][..], &["eventTime"], &["firstTimestamp"], &["metadata", "creationTimestamp"]]
            .iter()
            .map(|p| s(e, p))
            .find(|t| !t.is_empty())
            .unwrap_or_default()
            .to_string();
        t.parse::<jiff::Timestamp>().map(|t| t.as_second()).unwrap_or(0)
    };
    list.sort_by_key(|e| when(e));
    w.line("Events:");
    let mut rows: Vec<[String; 5]> = vec![
        ["Type", "Reason", "Age", "From", "Message"].map(String::from),
        ["----", "------", "----", "----", "-------"].map(String::from),
    ];
    for e in list {
        let age = human(now.saturating_sub(when(e)));
        let count = get(e, &["count"]).and_then(Value::as_i64).unwrap_or(1);
        let first = s(e, &["firstTimestamp"]).parse::<jiff::Timestamp>().map(|t| t.as_second()).ok();
        let age = match first {
            Some(f) if count > 1 => format!("{age} (x{count} over {})", human(now.saturating_sub(f))),
            _ => age,
        };
        let from = [s(e, &["source", "component"]), s(e, &["reportingComponent"])]
            .into_iter()
            .find(|c| !c.is_empty())
            .unwrap_or_default();
        let message = s(e, &["message"]).trim().replace('\n', " ");
        rows.push([s(e, &["type"]).to_string(), s(e, &["reason"]).to_string(), age, from.to_string(), message]);
    }
    for line in tabulate(&rows) {
        w.line(format!("  {line}"));
    }
}

/// Columns as kubectl's describe writes them through Go's tabwriter (padding 2): every column but
/// the last as wide as its widest cell plus two spaces.
fn tabulate<const N: usize>(rows: &[[String; N]]) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if i + 1 < N {
                    line.push_str(&" ".repeat(widths[i] - cell.width() + 2));
                }
            }
            line
        })
        .collect()
}

/// A duration as kubectl's `HumanDuration` writes ages (`45s`, `12m`, `3h5m`, `4d`).
fn human(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..120 => format!("{s}s"),
        120..600 => format!("{}m{}s", s / 60, s % 60).replace("m0s", "m"),
        600..10800 => format!("{}m", s / 60),
        10800..172800 => {
            let (h, m) = (s / 3600, (s % 3600) / 60);
            if m == 0 || h >= 8 { format!("{h}h") } else { format!("{h}h{m}m") }
        }
        _ => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::tabulate;

    #[test]
    fn pod_conditions_line_up_as_kubectl_describe_prints_them() {
        // kubectl describe pod (v1.33) on a running pod, trailing spaces trimmed: the Type
        // column is its widest cell plus its trailing space plus tabwriter's padding of two.
        let pod = serde_json::json!({"status": {"conditions": [
            {"type": "PodReadyToStartContainers", "status": "True"},
            {"type": "Ready", "status": "False"},
        ]}});
        let mut w = super::Writer::default();
        super::conditions(&mut w, &pod, false);
        assert_eq!(
            w.lines,
            [
                "Conditions:",
                "  Type                        Status",
                "  PodReadyToStartContainers   True",
                "  Ready                       False",
            ]
        );
    }

    #[test]
    fn columns_are_as_wide_as_their_widest_cell_plus_two_like_go_tabwriter() {
        let rows = [
            ["Type", "Reason", "Age", "Message"].map(String::from),
            ["Warning", "BackOff", "9s (x5097 over 18d)", "Back-off restarting"].map(String::from),
            ["Normal", "Pulled", "3m", "ok"].map(String::from),
        ];
        assert_eq!(
            tabulate(&rows),
            [
                "Type     Reason   Age                  Message",
                "Warning  BackOff  9s (x5097 over 18d)  Back-off restarting",
                "Normal   Pulled   3m                   ok",
            ]
        );
    }
}
