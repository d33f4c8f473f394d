//! Text that depends on the clock (stream ages in the header, pod and node ages in the detail
//! panel), derived from state. A tick marks the screen dirty only when this text changes, so an
//! idle screen costs nothing; `ui` draws the same strings.

use super::state::App;
use crate::fleet::model::{Secs, StreamKind, StreamState};
use crate::theme::Slot;

/// Streams quiet for longer than this show their data age even when live.
const QUIET_AFTER_SECS: i64 = 60;

pub use crate::fleet::why::fmt_age;

/// `12,000`: thousands separated, as a count reads best in a header.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Connection state of the streams as (text, slot) pieces, as the header shows them.
pub fn stream_parts(app: &App) -> Vec<(String, Slot)> {
    let mut parts = Vec::new();
    let mut syncing = Vec::new();
    let mut stale = Vec::new();
    let mut stale_since = Secs::MAX;
    for kind in StreamKind::ALL {
        match app.index.stream_state(kind) {
            StreamState::Live => {}
            StreamState::Syncing => syncing.push(match app.index.sync_progress(kind) {
                Some((listed, Some(total))) => format!("{} {}/~{}", kind.plural(), count(listed), count(total)),
                Some((listed, None)) => format!("{} {}", kind.plural(), count(listed)),
                None => kind.plural().to_string(),
            }),
            StreamState::Stale { since } => {
                stale.push(kind.plural());
                stale_since = stale_since.min(*since);
            }
            StreamState::Reconnecting { since, error } => parts.push((
                format!("{} reconnecting {} ({})", kind.plural(), fmt_age(app.now - since), first_line(error, 40)),
                Slot::StreamReconnecting,
            )),
            StreamState::Failed { error } => {
                parts.push((format!("{}: {}", kind.plural(), first_line(error, 60)), Slot::StreamFailed))
            }
        }
    }
    if !stale.is_empty() {
        // The age is the oldest stream's: how long ago the server was last heard at all.
        let text = format!("stale for {} ({})", fmt_age(app.now - stale_since), stale.join(", "));
        parts.insert(0, (text, Slot::StreamReconnecting));
    }
    if !syncing.is_empty() {
        parts.insert(0, (format!("syncing {}", syncing.join(", ")), Slot::StreamReconnecting));
    }
    if app.fleet_closed {
        parts.insert(0, ("stopped: not updated".to_string(), Slot::StreamFailed));
    }
    if parts.is_empty() {
        let age = app.index.last_event_at().map(|t| app.now - t);
        let text = match age {
            Some(a) if a > QUIET_AFTER_SECS => format!("live, last event {} ago", fmt_age(a)),
            _ => "live".to_string(),
        };
        parts.push((text, Slot::StreamLive));
    }
    for kind in StreamKind::ALL {
        let skipped = app.index.undecodable(kind);
        if let Some((key, error)) = skipped.iter().next() {
            let name =
                if key.namespace.is_empty() { key.name.clone() } else { format!("{}/{}", key.namespace, key.name) };
            let text =
                format!("{} undecodable {} skipped ({name}: {})", skipped.len(), kind.plural(), first_line(error, 40));
            parts.push((text, Slot::StreamReconnecting));
        }
    }
    parts
}

/// How long the data of the oldest stream that stopped hearing from the server (stale or
/// reconnecting after it was listed) has not been updated; None when every stream is fine.
pub fn stale_for(app: &App) -> Option<Secs> {
    StreamKind::ALL
        .into_iter()
        .filter_map(|kind| match app.index.stream_state(kind) {
            StreamState::Stale { since } | StreamState::Reconnecting { since, .. } => Some(app.now - since),
            _ => None,
        })
        .max()
        .filter(|_| app.index.synced())
}

/// The first line of `s`, cut to `max` columns (ASCII ellipsis: it goes in the header).
fn first_line(s: &str, max: usize) -> String {
    crate::text::fit_end(s.lines().next().unwrap_or(""), max, true)
}

/// Pod and node age of the cursor cell, as the detail panel shows them.
pub fn detail_ages(app: &App) -> (String, String) {
    let (Some(node), Some(ds)) = (app.cursor_node(), app.cursor_ds()) else { return Default::default() };
    let cell = app.index.cell(node, ds);
    let pod_age = cell.pod.map(|p| fmt_age(app.now - p.created)).unwrap_or_default();
    let node_age = app.index.node(node).map(|n| fmt_age(app.now - n.created)).unwrap_or_default();
    (pod_age, node_age)
}

/// Everything on screen that a tick can change.
pub fn clock_key(app: &App) -> String {
    let mut s: String = stream_parts(app).into_iter().map(|(t, _)| t).collect::<Vec<_>>().join(" ");
    if app.detail_open() {
        let (pod, node) = detail_ages(app);
        s.push_str(&format!("|{pod}/{node}"));
    }
    if let Some(d) = app.dialog() {
        // The history dialog shows revision ages.
        if matches!(d.dialog, super::actions::Dialog::History { .. }) {
            s.push_str(&format!("|h{}", app.now / 60));
        }
    }
    if let Some(n) = &app.notice {
        s.push_str(if n.until > app.now { "|notice" } else { "|expired" });
    }
    s
}

#[cfg(test)]
mod tests {
    use super::{count, fmt_age};

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(150_000), "150,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn ages_follow_kubectl_short_form() {
        assert_eq!(fmt_age(42), "42s");
        assert_eq!(fmt_age(300), "5m");
        assert_eq!(fmt_age(3 * 3600), "3h");
        assert_eq!(fmt_age(3 * 86_400), "3d");
        assert_eq!(fmt_age(-5), "0s");
    }
}
