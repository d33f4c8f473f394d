//! The live rollout status view (`r`): kubectl's rollout status message and counts for
//! one DaemonSet, kept current from the fleet index, with a stalled indicator. Drawn as a box
//! at the bottom of the matrix area, so the cells turning from outdated to ready stay visible
//! above it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph};

use super::fmt_age;
use crate::app::actions::StatusView;
use crate::app::{Action, App};
use crate::theme::Slot;

pub const HEIGHT: u16 = 7;

pub fn render(app: &App, view: &StatusView, f: &mut Frame, area: Rect) {
    let theme = app.theme();
    let text = theme.style(Slot::Help);
    let h = HEIGHT.min(area.height);
    let rect = Rect { x: area.x, y: area.y + area.height - h, width: area.width, height: h };
    let block = Block::default().borders(Borders::ALL).border_style(theme.style(Slot::Border)).title(Span::styled(
        format!(" rollout status: daemonset {} ({} closes) ", view.daemonset, app.keymap.first_key(Action::Close)),
        theme.style(Slot::DetailTitle),
    ));
    f.render_widget(Clear, rect);
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    let ds = app.index.ds_by_name(&view.daemonset.namespace, &view.daemonset.name).and_then(|id| app.index.ds(id));
    let (Some(ds), Some(progress)) = (ds, view.progress) else {
        f.render_widget(
            Paragraph::new(Line::styled("the DaemonSet is not in the index (deleted?)", theme.style(Slot::Error))),
            inner,
        );
        return;
    };
    let s = ds.status;
    let counts = format!(
        "updated {}/{}   available {}   unavailable {}   ready {}   generation {} (observed {})",
        s.updated, s.desired, s.available, s.unavailable, s.ready, ds.generation, s.observed_generation
    );
    let message = progress.status.message(ds.name);
    let msg_style = if progress.status.is_error() {
        theme.style(Slot::Error)
    } else if progress.status.done() {
        theme.style(Slot::StreamLive)
    } else {
        text
    };
    let mut lines = vec![Line::styled(message, msg_style), Line::styled(counts, text)];
    match progress.stalled_for {
        Some(secs) => lines.push(Line::styled(
            format!("STALLED: no progress for {} (look for failing or pending cells in this column)", fmt_age(secs)),
            theme.style(Slot::Error),
        )),
        None if !progress.status.done() && !progress.status.is_error() => {
            lines.push(Line::styled("in progress: cells turn from outdated to ready in the matrix above", text));
        }
        None => {}
    }
    let rows = inner.height.saturating_sub(1);
    f.render_widget(Paragraph::new(lines), Rect { height: rows, ..inner });
    if inner.height > 1 {
        let ratio = if s.desired > 0 {
            (s.updated.min(s.available).max(0) as f64 / s.desired as f64).clamp(0.0, 1.0)
        } else {
            1.0
        };
        let gauge = Gauge::default().gauge_style(theme.style(Slot::StreamLive)).ratio(ratio).label(format!(
            "{}/{} updated and available",
            s.updated.min(s.available),
            s.desired
        ));
        f.render_widget(gauge, Rect { y: inner.y + inner.height - 1, height: 1, ..inner });
    }
}
