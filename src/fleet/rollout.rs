//! Rollout status, stall detection, history and undo for DaemonSets, each following what
//! kubectl does (kubectl/pkg/polymorphichelpers: `DaemonSetStatusViewer`,
//! `DaemonSetHistoryViewer`, `DaemonSetRollbacker`).
//!
//! Pure: these functions read projections (`fleet::model`) or JSON the caller fetched; they
//! never do I/O or read a clock (the caller passes `now`). Sending an undo is
//! `cluster::actions` (`plan::rollout_undo`, `Actions::undo`).

use serde_json::Value;

use super::index::RevView;
use super::model::{DsStatusCounts, Secs, UpdateStrategy};

/// `DaemonSetStatusViewer.Status`'s answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RolloutStatus {
    /// The strategy is OnDelete: kubectl refuses ("rollout status is only available for
    /// RollingUpdate strategy type") and exits with an error.
    NotRollingUpdate,
    /// `generation > status.observedGeneration`: the controller has not seen the change yet.
    WaitingForSpec,
    /// `updatedNumberScheduled < desiredNumberScheduled`.
    WaitingUpdated { updated: i32, desired: i32 },
    /// `numberAvailable < desiredNumberScheduled`.
    WaitingAvailable { available: i32, desired: i32 },
    /// Rolled out.
    Complete,
}

impl RolloutStatus {
    /// The rollout is finished (kubectl's `done`; for `NotRollingUpdate` kubectl stops with an error).
    pub fn done(self) -> bool {
        matches!(self, RolloutStatus::Complete)
    }
    /// True when kubectl would report this as an error rather than progress.
    pub fn is_error(self) -> bool {
        matches!(self, RolloutStatus::NotRollingUpdate)
    }
    /// kubectl's message, without the trailing newline.
    pub fn message(self, name: &str) -> String {
        match self {
            RolloutStatus::NotRollingUpdate => {
                "rollout status is only available for RollingUpdate strategy type".into()
            }
            RolloutStatus::WaitingForSpec => "Waiting for daemon set spec update to be observed...".into(),
            RolloutStatus::WaitingUpdated { updated, desired } => format!(
                "Waiting for daemon set {name:?} rollout to finish: {updated} out of {desired} new pods have been updated..."
            ),
            RolloutStatus::WaitingAvailable { available, desired } => format!(
                "Waiting for daemon set {name:?} rollout to finish: {available} of {desired} updated pods are available..."
            ),
            RolloutStatus::Complete => format!("daemon set {name:?} successfully rolled out"),
        }
    }
}

/// The completion rule of `kubectl rollout status daemonset/x`
/// (kubectl/pkg/polymorphichelpers/rollout_status.go, `DaemonSetStatusViewer.Status`):
/// RollingUpdate only; the spec change must be observed (`generation <= observedGeneration`);
/// then every desired pod updated, then every desired pod available.
pub fn rollout_status(generation: i64, strategy: &UpdateStrategy, status: &DsStatusCounts) -> RolloutStatus {
    if !matches!(strategy, UpdateStrategy::RollingUpdate { .. }) {
        return RolloutStatus::NotRollingUpdate;
    }
    if generation > status.observed_generation {
        return RolloutStatus::WaitingForSpec;
    }
    if status.updated < status.desired {
        return RolloutStatus::WaitingUpdated { updated: status.updated, desired: status.desired };
    }
    if status.available < status.desired {
        return RolloutStatus::WaitingAvailable { available: status.available, desired: status.desired };
    }
    RolloutStatus::Complete
}

/// Stall detection for the rollout status view: a rollout that is not done and whose
/// (observedGeneration, desired, updated, available) did not change for `window` seconds is
/// stalled. Feed it on every index change for the DaemonSet and on the UI's tick (time passes
/// without events, and that is exactly when a rollout stalls).
#[derive(Clone, Debug)]
pub struct StallDetector {
    window: Secs,
    last: Option<(i64, i64, i32, i32, i32)>,
    since: Secs,
}

/// What the status view shows: kubectl's status plus how long nothing moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RolloutProgress {
    pub status: RolloutStatus,
    /// Seconds without progress, once that reaches the window (None while moving or done).
    pub stalled_for: Option<Secs>,
}

impl StallDetector {
    /// `window`: seconds without progress before the rollout counts as stalled.
    pub fn new(window: Secs) -> StallDetector {
        StallDetector { window: window.max(1), last: None, since: 0 }
    }

    /// Observe the DaemonSet at `now` and say where the rollout stands.
    pub fn observe(
        &mut self,
        now: Secs,
        generation: i64,
        strategy: &UpdateStrategy,
        status: &DsStatusCounts,
    ) -> RolloutProgress {
        let st = rollout_status(generation, strategy, status);
        let key = (generation, status.observed_generation, status.desired, status.updated, status.available);
        if self.last != Some(key) {
            self.last = Some(key);
            self.since = now;
        }
        let quiet = now.saturating_sub(self.since);
        let stalled_for = (!st.done() && !st.is_error() && quiet >= self.window).then_some(quiet);
        RolloutProgress { status: st, stalled_for }
    }
}

/// One line of rollout history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryRow {
    pub revision: i64,
    /// ControllerRevision name (`<daemonset>-<hash>`).
    pub name: String,
    pub created: Secs,
    /// `kubernetes.io/change-cause`; kubectl prints `<none>` when absent.
    pub change_cause: Option<String>,
    pub images: Vec<String>,
    /// The newest revision (the one the DaemonSet's template is at).
    pub current: bool,
}

impl HistoryRow {
    pub fn age(&self, now: Secs) -> Secs {
        now.saturating_sub(self.created).max(0)
    }
    /// The CHANGE-CAUSE column as kubectl prints it.
    pub fn change_cause_text(&self) -> &str {
        self.change_cause.as_deref().filter(|c| !c.is_empty()).unwrap_or("<none>")
    }
}

/// Rows as `kubectl rollout history` orders them (`printHistory`): one per revision number
/// (a later duplicate wins, as in kubectl's map), ascending; the highest is marked current.
pub fn history_rows(rows: impl IntoIterator<Item = HistoryRow>) -> Vec<HistoryRow> {
    let mut by_rev = std::collections::BTreeMap::new();
    for r in rows {
        by_rev.insert(r.revision, r);
    }
    let mut out: Vec<HistoryRow> = by_rev.into_values().collect();
    for r in &mut out {
        r.current = false;
    }
    if let Some(last) = out.last_mut() {
        last.current = true;
    }
    out
}

/// History rows from the fleet index (`Index::revisions(ds)`).
pub fn history_from_index(revs: &[RevView<'_>]) -> Vec<HistoryRow> {
    history_rows(revs.iter().map(|r| HistoryRow {
        revision: r.revision,
        name: r.name.to_owned(),
        created: r.created,
        change_cause: r.change_cause.map(str::to_owned),
        images: r.images.to_vec(),
        current: false,
    }))
}

/// A ControllerRevision's number and raw `data`, for undo.
#[derive(Clone, Debug, PartialEq)]
pub struct RevisionData {
    pub revision: i64,
    pub data: Value,
}

/// Why an undo was not planned; the messages are kubectl's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UndoError {
    #[error("no last revision to roll back to")]
    NoPreviousRevision,
    #[error("unable to find specified revision {0} in history")]
    RevisionNotFound(i64),
    #[error("skipped rollback (current template already matches revision {0})")]
    AlreadyMatches(i64),
    #[error("the DaemonSet has no spec.template")]
    NoTemplate,
}

/// `DaemonSetRollbacker.Rollback` without the I/O: choose the revision (`None`: the previous one,
/// i.e. the second-highest revision number, as `findHistory` with toRevision 0 does), refuse
/// when the DaemonSet's template already matches it (`daemonSetMatch`), and return the chosen
/// revision number and its `data`, which is sent unchanged as a strategic merge patch.
///
/// `current_ds` is the DaemonSet as the server returned it (JSON).
pub fn undo_patch(
    current_ds: &Value,
    history: &[RevisionData],
    to_revision: Option<i64>,
) -> Result<(i64, Value), UndoError> {
    let chosen = match to_revision {
        Some(n) if n <= 0 => return Err(UndoError::RevisionNotFound(n)),
        Some(n) => history.iter().find(|h| h.revision == n).ok_or(UndoError::RevisionNotFound(n))?,
        None => {
            let mut sorted: Vec<&RevisionData> = history.iter().collect();
            if sorted.len() <= 1 {
                return Err(UndoError::NoPreviousRevision);
            }
            sorted.sort_by_key(|h| h.revision);
            sorted[sorted.len() - 2]
        }
    };
    let current = current_template_patch(current_ds).ok_or(UndoError::NoTemplate)?;
    // kubectl compares bytes of two Go marshalings; we compare the JSON trees with nulls dropped
    // (Go writes `"creationTimestamp": null` in templates; other encoders omit it).
    if without_nulls(&current) == without_nulls(&chosen.data) {
        return Err(UndoError::AlreadyMatches(chosen.revision));
    }
    Ok((chosen.revision, chosen.data.clone()))
}

/// `getDaemonSetPatch`: `{"spec":{"template": <template + "$patch":"replace">}}`, the same shape
/// the DaemonSet controller stores in a ControllerRevision's `data`.
pub fn current_template_patch(ds: &Value) -> Option<Value> {
    let mut template = ds.get("spec")?.get("template")?.clone();
    template.as_object_mut()?.insert("$patch".into(), Value::String("replace".into()));
    Some(serde_json::json!({ "spec": { "template": template } }))
}

fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), without_nulls(v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Images named in a revision's `data` (containers, then init containers), for history rows
/// built from fetched ControllerRevisions.
pub fn images_in_revision_data(data: &Value) -> Vec<String> {
    let spec = &data["spec"]["template"]["spec"];
    ["containers", "initContainers"]
        .iter()
        .flat_map(|k| spec[*k].as_array().into_iter().flatten())
        .filter_map(|c| c["image"].as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ru() -> UpdateStrategy {
        UpdateStrategy::RollingUpdate { max_unavailable: "1".into(), max_surge: "0".into() }
    }
    fn counts(desired: i32, updated: i32, available: i32, observed: i64) -> DsStatusCounts {
        DsStatusCounts { desired, updated, available, observed_generation: observed, ..Default::default() }
    }

    // Table from DaemonSetStatusViewer.Status (kubectl rollout_status.go) and its tests.
    #[test]
    fn status_rule_matches_kubectl() {
        let cases = [
            (1, ru(), counts(4, 4, 4, 1), RolloutStatus::Complete, "daemon set \"ds\" successfully rolled out"),
            (
                2,
                ru(),
                counts(4, 4, 4, 1),
                RolloutStatus::WaitingForSpec,
                "Waiting for daemon set spec update to be observed...",
            ),
            (
                2,
                ru(),
                counts(4, 1, 4, 2),
                RolloutStatus::WaitingUpdated { updated: 1, desired: 4 },
                "Waiting for daemon set \"ds\" rollout to finish: 1 out of 4 new pods have been updated...",
            ),
            (
                2,
                ru(),
                counts(4, 4, 3, 3),
                RolloutStatus::WaitingAvailable { available: 3, desired: 4 },
                "Waiting for daemon set \"ds\" rollout to finish: 3 of 4 updated pods are available...",
            ),
            (
                1,
                UpdateStrategy::OnDelete,
                counts(4, 0, 0, 1),
                RolloutStatus::NotRollingUpdate,
                "rollout status is only available for RollingUpdate strategy type",
            ),
            // observedGeneration ahead of generation still counts as observed.
            (1, ru(), counts(0, 0, 0, 5), RolloutStatus::Complete, "daemon set \"ds\" successfully rolled out"),
        ];
        for (generation, strategy, status, want, msg) in cases {
            let got = rollout_status(generation, &strategy, &status);
            assert_eq!(got, want, "{status:?}");
            assert_eq!(got.message("ds"), msg);
        }
    }

    #[test]
    fn stalled_when_nothing_moves_for_the_window() {
        let mut d = StallDetector::new(60);
        let s = counts(4, 1, 3, 2);
        assert_eq!(d.observe(100, 2, &ru(), &s).stalled_for, None);
        assert_eq!(d.observe(159, 2, &ru(), &s).stalled_for, None);
        assert_eq!(d.observe(160, 2, &ru(), &s).stalled_for, Some(60));
        // Progress resets the clock.
        assert_eq!(d.observe(170, 2, &ru(), &counts(4, 2, 3, 2)).stalled_for, None);
        assert_eq!(d.observe(229, 2, &ru(), &counts(4, 2, 3, 2)).stalled_for, None);
    }

    #[test]
    fn a_finished_rollout_never_stalls() {
        let mut d = StallDetector::new(10);
        let s = counts(4, 4, 4, 2);
        d.observe(0, 2, &ru(), &s);
        let p = d.observe(1000, 2, &ru(), &s);
        assert!(p.status.done());
        assert_eq!(p.stalled_for, None);
    }

    fn row(revision: i64, cause: Option<&str>) -> HistoryRow {
        HistoryRow {
            revision,
            name: format!("ds-{revision}"),
            created: revision * 10,
            change_cause: cause.map(Into::into),
            images: vec![],
            current: false,
        }
    }

    #[test]
    fn history_is_ascending_deduplicated_and_marks_the_newest() {
        let rows = history_rows([row(3, None), row(1, Some("first")), row(2, Some(""))]);
        assert_eq!(rows.iter().map(|r| r.revision).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(rows.iter().map(|r| r.current).collect::<Vec<_>>(), vec![false, false, true]);
        assert_eq!(rows[0].change_cause_text(), "first");
        assert_eq!(rows[1].change_cause_text(), "<none>");
        assert_eq!(rows[2].change_cause_text(), "<none>");
    }

    fn tmpl(image: &str) -> Value {
        json!({"metadata": {"labels": {"app": "a"}, "creationTimestamp": null},
               "spec": {"containers": [{"name": "c", "image": image}]}})
    }
    fn data(image: &str) -> Value {
        let mut t = tmpl(image);
        t["$patch"] = json!("replace");
        json!({"spec": {"template": t}})
    }
    fn ds(image: &str) -> Value {
        json!({"metadata": {"name": "ds"}, "spec": {"template": tmpl(image)}})
    }

    #[test]
    fn undo_defaults_to_the_previous_revision_and_sends_its_data() {
        let history = vec![
            RevisionData { revision: 3, data: data("img:3") },
            RevisionData { revision: 1, data: data("img:1") },
            RevisionData { revision: 2, data: data("img:2") },
        ];
        let (rev, body) = undo_patch(&ds("img:3"), &history, None).unwrap();
        assert_eq!(rev, 2);
        assert_eq!(body, data("img:2"));
        assert_eq!(undo_patch(&ds("img:3"), &history, Some(1)).unwrap(), (1, data("img:1")));
    }

    #[test]
    fn undo_refuses_when_the_template_already_matches() {
        let history =
            vec![RevisionData { revision: 1, data: data("img:1") }, RevisionData { revision: 2, data: data("img:2") }];
        let err = undo_patch(&ds("img:1"), &history, None).unwrap_err();
        assert_eq!(err, UndoError::AlreadyMatches(1));
        assert_eq!(err.to_string(), "skipped rollback (current template already matches revision 1)");
    }

    #[test]
    fn undo_errors_read_like_kubectl() {
        let one = vec![RevisionData { revision: 1, data: data("img:1") }];
        assert_eq!(undo_patch(&ds("x"), &one, None).unwrap_err().to_string(), "no last revision to roll back to");
        assert_eq!(
            undo_patch(&ds("x"), &one, Some(7)).unwrap_err().to_string(),
            "unable to find specified revision 7 in history"
        );
    }

    #[test]
    fn images_are_read_from_revision_data() {
        assert_eq!(images_in_revision_data(&data("img:9")), vec!["img:9".to_string()]);
    }
}

/// How a RollingUpdate of `desired` pods proceeds: (pods replaced at once, waves), as the
/// DaemonSet controller scales `maxUnavailable` / `maxSurge` (`GetScaledValueFromIntOrPercent`,
/// rounding up; at least one pod at a time). `None` for OnDelete: nothing rolls by itself.
pub fn rollout_waves(strategy: &crate::fleet::model::UpdateStrategy, desired: i32) -> Option<(u32, u32)> {
    use crate::fleet::model::UpdateStrategy;
    let UpdateStrategy::RollingUpdate { max_unavailable, max_surge } = strategy else { return None };
    let desired = u32::try_from(desired.max(0)).unwrap_or(0);
    use crate::fleet::strategy::{Field, parse_int_or_percent};
    let scaled = |field, v: &str| parse_int_or_percent(field, v).map(|v| v.scaled(desired)).unwrap_or(0);
    let at_once = scaled(Field::MaxUnavailable, max_unavailable).max(scaled(Field::MaxSurge, max_surge)).max(1);
    Some((at_once.min(desired.max(1)), desired.div_ceil(at_once)))
}

#[cfg(test)]
mod waves_tests {
    use super::rollout_waves;
    use crate::fleet::model::UpdateStrategy;

    fn ru(u: &str, s: &str) -> UpdateStrategy {
        UpdateStrategy::RollingUpdate { max_unavailable: u.into(), max_surge: s.into() }
    }

    // Hand-derived from the controller's rule: percentages of desired, rounded up.
    #[test]
    fn waves_follow_max_unavailable_and_surge() {
        assert_eq!(rollout_waves(&ru("1", "0"), 40), Some((1, 40)));
        assert_eq!(rollout_waves(&ru("10%", "0"), 40), Some((4, 10)));
        assert_eq!(rollout_waves(&ru("10%", "0"), 5), Some((1, 5)), "10% of 5 rounds up to 1");
        assert_eq!(rollout_waves(&ru("0", "25%"), 8), Some((2, 4)));
        assert_eq!(rollout_waves(&ru("100%", "0"), 7), Some((7, 1)));
        assert_eq!(rollout_waves(&ru("0", "0"), 3), Some((1, 3)), "never less than one at a time");
        assert_eq!(rollout_waves(&UpdateStrategy::OnDelete, 9), None);
    }
}
