//! Where everything goes on screen: one pure function of the terminal size and the app's
//! state. `update` computes it after every change and keeps it in `App::geometry` (to scroll
//! the cursor into view, size a page, size the log pane); `ui` draws into it. The two always
//! agree on how many rows and columns are visible.

use ratatui::layout::Rect;

use super::App;
use super::logs::LogLayout;

/// Below this the screen says it is too small instead of drawing a broken matrix.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;
/// Each matrix cell: a space, the state glyph, and the restart marker (or a space).
pub const CELL_WIDTH: u16 = 3;
/// Cells widen up to this when every column fits with room to spare, so the staggered names
/// above them get that room too instead of being cut to a few characters.
pub const MAX_CELL_WIDTH: u16 = 8;
/// The detail panel goes to the right when the terminal is at least this wide.
pub const SIDE_DETAIL_MIN_WIDTH: u16 = 130;
pub const SIDE_DETAIL_WIDTH: u16 = 56;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub header: Rect,
    /// The cursor column's full name and counts.
    pub legend: Rect,
    /// Staggered DaemonSet names above the columns.
    pub colhead: Rect,
    pub body: Rect,
    /// ready/desired per column.
    pub totals: Rect,
    pub footer: Rect,
    pub detail: Option<Rect>,
    /// Width of the sticky node-label column (inside `body`, `colhead`, `totals`).
    pub label_width: u16,
    /// Width of a matrix cell: `CELL_WIDTH`, more when the columns leave room.
    pub cell_width: u16,
    pub visible_rows: usize,
    pub visible_cols: usize,
}

impl Geometry {
    /// X of the visible column `j` (0 = first visible).
    pub fn col_x(&self, j: usize) -> u16 {
        self.body.x + self.label_width + j as u16 * self.cell_width
    }
}

/// Compute the layout; `None` when the terminal is too small.
pub fn geometry(size: (u16, u16), app: &App) -> Option<Geometry> {
    let (w, h) = size;
    if w < MIN_WIDTH || h < MIN_HEIGHT {
        return None;
    }
    let header = Rect::new(0, 0, w, 2);
    let legend = Rect::new(0, 2, w, 1);
    let colhead_h: u16 = if h >= 20 { 3 } else { 2 };
    let footer = Rect::new(0, h - 1, w, 1);
    // Rows between the legend and the footer: colhead, body, totals (and a bottom detail).
    let top = 3;
    // The split log pane takes rows above the footer.
    let mut bottom = h - 1 - split_rows(app, h);
    let mut right = w;
    let mut detail = None;
    if app.detail_open() {
        if w >= SIDE_DETAIL_MIN_WIDTH {
            right = w - SIDE_DETAIL_WIDTH;
            detail = Some(Rect::new(right, top, SIDE_DETAIL_WIDTH, bottom - top));
        } else {
            let avail = bottom - top;
            let dh = (avail / 2).clamp(5, 12);
            bottom -= dh;
            detail = Some(Rect::new(0, bottom, w, dh));
        }
    }
    let colhead = Rect::new(0, top, right, colhead_h);
    let body_y = top + colhead_h;
    let body_h = bottom.saturating_sub(body_y + 1);
    let body = Rect::new(0, body_y, right, body_h);
    let totals = Rect::new(0, body_y + body_h, right, 1);

    // Node name + space + three flag columns + space; bounded so cells keep most of the width.
    let wanted = app.view.max_name as u16 + 5;
    let label_width = wanted.clamp(14, 42.min(right * 2 / 5));
    let avail = right.saturating_sub(label_width);
    let ncols = (app.view.cols.len() as u16).max(1);
    let cell_width = (avail / ncols).clamp(CELL_WIDTH, MAX_CELL_WIDTH);
    let visible_cols = (avail / cell_width) as usize;
    Some(Geometry {
        header,
        legend,
        colhead,
        body,
        totals,
        footer,
        detail,
        label_width,
        cell_width,
        visible_rows: body_h as usize,
        visible_cols,
    })
}

/// Rows the split log pane takes at the bottom (above the footer) of a `height`-row terminal:
/// about half, leaving the matrix its header rows and a few body rows.
pub fn split_rows(app: &App, height: u16) -> u16 {
    if !app.logs().is_some_and(|l| l.layout == LogLayout::Split) {
        return 0;
    }
    // header 2 + legend 1 + column heads 3 + 3 body rows + totals 1 + footer 1.
    let keep = 11;
    (height / 2).min(height.saturating_sub(keep)).max(3.min(height.saturating_sub(keep)))
}

/// The log pane's rectangle on a `w`×`h` screen, if a pane is open.
pub fn pane_area(app: &App, w: u16, h: u16) -> Option<Rect> {
    let logs = app.logs()?;
    if h < 4 {
        return None;
    }
    match logs.layout {
        LogLayout::Full => Some(Rect::new(0, 2, w, h.saturating_sub(3))),
        LogLayout::Split => {
            let rows = split_rows(app, h);
            (rows > 0).then(|| Rect::new(0, h - 1 - rows, w, rows))
        }
    }
}
