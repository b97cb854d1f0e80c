//! Server-side SVG charts (服务端图表) for the web console: the plan Gantt chart (甘特图) and bar charts (条形图).
//!
//! Every chart is a self-contained `String`: no JavaScript, no external resources, no `style` attribute and no
//! `<style>` element, because the console's Content-Security-Policy forbids inline styles. Colours are SVG
//! presentation attributes (`fill`, `stroke`), so a chart renders correctly without any stylesheet, and every
//! element also carries a CSS class so the console stylesheet may restyle it. Every piece of text goes through
//! [`escape`]. The output is deterministic: the same input gives the same bytes.
//!
//! Charts are `width="100%"` with a `viewBox`, so they scale to their container; the Gantt chart of a long plan is
//! wide, and the console is expected to put it in a horizontally scrolling box (its root has the classes
//! `bb-chart bb-gantt` to give it a `min-width` from the stylesheet).

use std::fmt::Write as _;

use chrono::{Datelike, Days, NaiveDate};

/// Plan Gantt chart input (甘特图数据): the planned window, today and one row per plan item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GanttInput {
    /// First day of the plan (计划开始).
    pub start: NaiveDate,
    /// Last day of the plan (计划结束); the chart widens to cover `today` and every row's dates.
    pub end: NaiveDate,
    /// Today (今天), drawn as a vertical line; running items extend to it.
    pub today: NaiveDate,
    /// The plan items (办理事项), top to bottom.
    pub rows: Vec<GanttRow>,
}

/// One plan item on the Gantt chart (甘特图行).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GanttRow {
    /// Item code (事项编码).
    pub code: String,
    /// Item name (事项名称); truncated on the chart, in full in its tooltip.
    pub name: String,
    /// Stage label (阶段), already localized.
    pub stage_label: String,
    /// Planned first day (计划开始).
    pub planned_start: NaiveDate,
    /// Planned last day (计划完成); equal to `planned_start` for a one-day item.
    pub planned_end: NaiveDate,
    /// Actual first day (实际开始); `None` until the item starts.
    pub actual_start: Option<NaiveDate>,
    /// Actual last day (实际完成); `None` while the item runs.
    pub actual_end: Option<NaiveDate>,
    /// On the critical path (关键路径).
    pub critical: bool,
    /// Status label (状态), already localized.
    pub status_label: String,
    /// Past its deadline (逾期).
    pub overdue: bool,
}

/// Escapes text for XML character data and attribute values (XML 转义): `& < > " '`.
///
/// Characters that XML 1.0 forbids (control characters other than tab, newline and carriage return, U+FFFE,
/// U+FFFF) are dropped, since no escape makes them legal and one of them would break the whole document.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

const FONT: &str = "system-ui, -apple-system, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif";
const NO_DATA: &str = "暂无数据 no data";
const NO_VALUE: &str = "无数据 no data";
const GANTT_TITLE: &str = "计划甘特图 plan Gantt chart";

const INK: &str = "#202124";
const MUTED: &str = "#5f6368";
const GRID: &str = "#dadce0";
const GRID_LIGHT: &str = "#eceff1";
const STRIPE: &str = "#f8f9fa";
const PLANNED_FILL: &str = "#dbe7fb";
const PLANNED_STROKE: &str = "#7ba4e8";
const ACTUAL: &str = "#1a73e8";
const OVERDUE: &str = "#d93025";
const OVERDUE_LIGHT: &str = "#fce8e6";
const CRITICAL: &str = "#8b1a1a";
const TODAY: &str = "#e37400";
const TRACK: &str = "#f1f3f4";

/// Formats a number with at most one decimal, without a trailing `.0` and never as `-0`; not-a-number is `0`.
fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_owned();
    }
    let r = (v * 10.0).round() / 10.0;
    if !r.is_finite() {
        return format!("{v:.0}");
    }
    if r == 0.0 {
        "0".to_owned()
    } else if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// Whether a character takes two columns (CJK and other East Asian wide forms): enough to size labels.
fn is_wide(c: char) -> bool {
    matches!(
        c as u32,
        0x1100..=0x115F
            | 0x2026
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x1F300..=0x1FAFF
            | 0x20000..=0x3FFFD
    )
}

fn char_units(c: char) -> usize {
    if is_wide(c) { 2 } else { 1 }
}

/// Estimated width of a text in half-width columns.
fn text_units(s: &str) -> usize {
    s.chars().map(char_units).sum()
}

/// Cuts a label to `max_units` columns, ending it with "…" when anything was cut.
fn truncate(s: &str, max_units: usize) -> String {
    if text_units(s) <= max_units {
        return s.to_owned();
    }
    let budget = max_units.saturating_sub(char_units('…'));
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let units = char_units(c);
        if used + units > budget {
            break;
        }
        out.push(c);
        used += units;
    }
    let mut out = out.trim_end().to_owned();
    out.push('…');
    out
}

/// Opens the root element with its accessible name, a `<title>` and a `<desc>`.
fn open_svg(out: &mut String, class: &str, width: f64, height: f64, title: &str, summary: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="bb-chart {class}" viewBox="0 0 {w} {h}" width="100%" preserveAspectRatio="xMinYMin meet" role="img" aria-label="{label}" font-family="{FONT}" font-size="12" fill="{INK}"><title>{title}</title><desc>{label}</desc>"#,
        w = num(width),
        h = num(height),
        label = escape(summary),
        title = escape(title),
    );
}

/// The chart shown instead of an empty one (暂无数据).
fn placeholder(class: &str, title: &str) -> String {
    const W: f64 = 640.0;
    const H: f64 = 72.0;
    let mut out = String::new();
    let summary = if title.is_empty() { NO_DATA.to_owned() } else { format!("{title}: {NO_DATA}") };
    open_svg(
        &mut out,
        &format!("{class} bb-chart-empty"),
        W,
        H,
        if title.is_empty() { NO_DATA } else { title },
        &summary,
    );
    let _ = write!(
        out,
        r##"<rect class="empty-frame" x="0.5" y="0.5" width="{w}" height="{h}" rx="6" fill="#ffffff" stroke="{GRID}" stroke-dasharray="4 4"/>"##,
        w = num(W - 1.0),
        h = num(H - 1.0),
    );
    if !title.is_empty() {
        let _ = write!(
            out,
            r#"<text class="chart-title" x="12" y="22" font-size="14" font-weight="600">{}</text>"#,
            escape(&truncate(title, 90))
        );
    }
    let _ = write!(
        out,
        r#"<text class="empty" x="{x}" y="48" text-anchor="middle" fill="{MUTED}">{NO_DATA}</text></svg>"#,
        x = num(W / 2.0)
    );
    out
}

// ---------------------------------------------------------------------------------------------------------------
// Gantt chart (甘特图)
// ---------------------------------------------------------------------------------------------------------------

/// Width of the label column on the left.
const G_LABEL_W: f64 = 220.0;
/// Width the plot aims for when the range is neither very short nor very long.
const G_PLOT_TARGET: f64 = 840.0;
/// The plot never grows past this, however long the range: bad dates must not make a megabyte of SVG.
const G_PLOT_MAX: f64 = 8000.0;
const G_MIN_DAY_W: f64 = 2.0;
const G_MAX_DAY_W: f64 = 60.0;
const G_MIN_W: f64 = 640.0;
const G_PAD_R: f64 = 12.0;
const G_TODAY_LABEL_Y: f64 = 38.0;
const G_AXIS_TOP: f64 = 44.0;
const G_MONTH_Y: f64 = 57.0;
const G_WEEK_Y: f64 = 71.0;
const G_ROWS_TOP: f64 = 76.0;
const G_ROW_H: f64 = 34.0;
const G_PAD_B: f64 = 8.0;
/// A bar is never narrower than this, so a zero-day item (start == end) on a long range stays visible.
const G_MIN_BAR_W: f64 = 3.0;
/// Month labels need this much room between ticks.
const G_MONTH_LABEL_PX: f64 = 72.0;
/// Week ticks are drawn only when Mondays are at least this far apart.
const G_WEEK_LABEL_PX: f64 = 44.0;

/// The two dates in order.
fn ordered(a: NaiveDate, b: NaiveDate) -> (NaiveDate, NaiveDate) {
    if b < a { (b, a) } else { (a, b) }
}

/// The date range drawn: the plan's window widened to today and to every planned and actual date.
fn span(input: &GanttInput) -> (NaiveDate, NaiveDate) {
    let (mut lo, mut hi) = ordered(input.start, input.end);
    let mut take = |d: NaiveDate| {
        lo = lo.min(d);
        hi = hi.max(d);
    };
    take(input.today);
    for row in &input.rows {
        take(row.planned_start);
        take(row.planned_end);
        row.actual_start.into_iter().chain(row.actual_end).for_each(&mut take);
    }
    (lo, hi)
}

/// The actual bar of a row: first and last day, and whether it is still running (extends to today).
fn actual_interval(row: &GanttRow, today: NaiveDate) -> Option<(NaiveDate, NaiveDate, bool)> {
    let start = row.actual_start.or(row.actual_end)?;
    Some(match row.actual_end {
        Some(end) => {
            let (s, e) = ordered(start, end);
            (s, e, false)
        }
        None => (start, today.max(start), true),
    })
}

/// The time axis: a day is a cell `day_w` wide starting at `x(day)`.
struct Axis {
    lo: NaiveDate,
    days: i64,
    day_w: f64,
}

impl Axis {
    fn new(lo: NaiveDate, hi: NaiveDate) -> Self {
        let days = (hi - lo).num_days().max(0) + 1;
        let mut day_w = (G_PLOT_TARGET / days as f64).clamp(G_MIN_DAY_W, G_MAX_DAY_W);
        if days as f64 * day_w > G_PLOT_MAX {
            day_w = G_PLOT_MAX / days as f64;
        }
        Self { lo, days, day_w }
    }

    fn offset(&self, d: NaiveDate) -> i64 {
        (d - self.lo).num_days()
    }

    /// Left edge of a day's cell.
    fn x(&self, d: NaiveDate) -> f64 {
        self.x_of(self.offset(d))
    }

    fn x_of(&self, offset: i64) -> f64 {
        G_LABEL_W + offset as f64 * self.day_w
    }

    fn plot_w(&self) -> f64 {
        self.days as f64 * self.day_w
    }

    /// Left edge and width of a bar covering `first..=last`, at least [`G_MIN_BAR_W`] wide.
    fn bar(&self, first: NaiveDate, last: NaiveDate) -> (f64, f64) {
        let days = (last - first).num_days() + 1;
        (self.x(first), (days as f64 * self.day_w).max(G_MIN_BAR_W))
    }

    /// Where the today line goes: the middle of today's cell.
    fn today_x(&self, today: NaiveDate) -> f64 {
        self.x(today) + self.day_w / 2.0
    }
}

fn month_index(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

fn month_start(index: i64) -> Option<NaiveDate> {
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    NaiveDate::from_ymd_opt(year, index.rem_euclid(12) as u32 + 1, 1)
}

/// Months between labelled ticks: 1, 2, 3, 6, then whole years (1, 2, 5, 10, 20, 50 … years).
fn month_step(day_w: f64) -> i64 {
    let fits = |months: i64| months as f64 * 30.44 * day_w >= G_MONTH_LABEL_PX;
    if let Some(step) = [1, 2, 3, 6].into_iter().find(|&m| fits(m)) {
        return step;
    }
    let mut decade = 12_i64;
    loop {
        for m in [1, 2, 5] {
            let step = decade.saturating_mul(m);
            if fits(step) || step == i64::MAX {
                return step;
            }
        }
        decade = decade.saturating_mul(10);
    }
}

/// Month (or year) ticks and labels along the top, with their grid lines.
fn month_ticks(out: &mut String, axis: &Axis, hi: NaiveDate, rows_bottom: f64) {
    let step = month_step(axis.day_w);
    let (first, last) = (month_index(axis.lo), month_index(hi));
    let mut index = first.div_euclid(step) * step;
    let mut labelled = false;
    while index <= last {
        let next = index.saturating_add(step);
        if let Some(date) = month_start(index) {
            let off = axis.offset(date);
            let next_off = month_start(next).map_or(axis.days, |d| axis.offset(d)).min(axis.days);
            let label = if step >= 12 {
                format!("{}年", date.year())
            } else if !labelled || date.month() == 1 {
                format!("{}年{}月", date.year(), date.month())
            } else {
                format!("{}月", date.month())
            };
            if off > 0 {
                let x = num(axis.x_of(off));
                let _ = write!(
                    out,
                    r#"<line class="tick-month" x1="{x}" y1="{G_AXIS_TOP}" x2="{x}" y2="{y2}" stroke="{GRID}"/>"#,
                    y2 = num(rows_bottom),
                );
            }
            // A period that starts before the range is labelled at the left edge, if its visible part has room.
            let room = (next_off - off.max(0)) as f64 * axis.day_w;
            if off >= 0 || room >= G_MONTH_LABEL_PX {
                let _ = write!(
                    out,
                    r#"<text class="tick-label" x="{x}" y="{G_MONTH_Y}" font-size="11" fill="{MUTED}">{label}</text>"#,
                    x = num(axis.x_of(off.max(0)) + 3.0),
                    label = escape(&label),
                );
                labelled = true;
            }
        }
        if next == i64::MAX {
            break;
        }
        index = next;
    }
}

/// Week ticks on Mondays (周), when they are far enough apart to label.
fn week_ticks(out: &mut String, axis: &Axis, rows_bottom: f64) {
    if axis.day_w * 7.0 < G_WEEK_LABEL_PX {
        return;
    }
    let mut off = (7 - i64::from(axis.lo.weekday().num_days_from_monday())) % 7;
    while off < axis.days {
        let Some(date) = axis.lo.checked_add_days(Days::new(off as u64)) else { break };
        let x = axis.x_of(off);
        let _ = write!(
            out,
            r#"<line class="tick-week" x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="{GRID_LIGHT}"/><text class="tick-label tick-label-week" x="{tx}" y="{G_WEEK_Y}" font-size="10" fill="{MUTED}">{m}/{d}</text>"#,
            x = num(x),
            y1 = num(G_WEEK_Y - 9.0),
            y2 = num(rows_bottom),
            tx = num(x + 2.0),
            m = date.month(),
            d = date.day(),
        );
        off += 7;
    }
}

/// A legend swatch (图例标记).
enum Swatch {
    Planned,
    Actual,
    Overdue,
    Critical,
    Today,
}

/// One line of legend items from the left edge; returns nothing, the caller reserved the room.
fn legend(out: &mut String, items: &[(Swatch, &str)]) {
    let _ = write!(out, r#"<g class="legend">"#);
    let mut x = 8.0;
    for (swatch, label) in items {
        let sx = num(x);
        let _ = match swatch {
            Swatch::Planned => write!(
                out,
                r#"<rect class="legend-planned" x="{sx}" y="8" width="18" height="10" rx="2" fill="{PLANNED_FILL}" stroke="{PLANNED_STROKE}"/>"#
            ),
            Swatch::Actual => write!(
                out,
                r#"<rect class="legend-actual" x="{sx}" y="8" width="18" height="10" rx="2" fill="{ACTUAL}"/>"#
            ),
            Swatch::Overdue => write!(
                out,
                r#"<rect class="legend-overdue" x="{sx}" y="8" width="18" height="10" rx="2" fill="{OVERDUE}"/>"#
            ),
            Swatch::Critical => write!(
                out,
                r#"<rect class="legend-critical" x="{sx}" y="8" width="18" height="10" rx="2" fill="{PLANNED_FILL}" stroke="{CRITICAL}" stroke-width="2"/>"#
            ),
            Swatch::Today => write!(
                out,
                r#"<line class="legend-today" x1="{cx}" y1="6" x2="{cx}" y2="20" stroke="{TODAY}" stroke-width="2" stroke-dasharray="4 3"/>"#,
                cx = num(x + 9.0)
            ),
        };
        let _ = write!(out, r#"<text x="{tx}" y="17" font-size="11">{}</text>"#, escape(label), tx = num(x + 24.0));
        x += 24.0 + text_units(label) as f64 * 6.0 + 16.0;
    }
    out.push_str("</g>");
}

/// Renders the plan Gantt chart (计划甘特图) as SVG.
///
/// Each row shows the planned bar (计划, light with an outline) above the actual bar (实际, solid; a running item
/// extends to today, an overdue one is red). Critical-path rows (关键路径) get a dark red border and a "关键" badge.
/// A dashed vertical line marks today (今天); month and week ticks run along the top; a legend sits above them.
/// The range is `start..=end` widened to today and to every row's dates; reversed dates are put in order. With no
/// rows the chart is a "暂无数据 no data" placeholder.
pub fn gantt(input: &GanttInput) -> String {
    if input.rows.is_empty() {
        return placeholder("bb-gantt", GANTT_TITLE);
    }
    let (lo, hi) = span(input);
    let axis = Axis::new(lo, hi);
    let width = (G_LABEL_W + axis.plot_w() + G_PAD_R).max(G_MIN_W);
    let rows_bottom = G_ROWS_TOP + input.rows.len() as f64 * G_ROW_H;
    let height = rows_bottom + G_PAD_B;
    let critical = input.rows.iter().filter(|r| r.critical).count();
    let overdue = input.rows.iter().filter(|r| r.overdue).count();
    let summary = format!(
        "{GANTT_TITLE}: {lo} – {hi}, {n} 项 items, 关键路径 critical path {critical}, 逾期 overdue {overdue}, 今天 today {today}",
        n = input.rows.len(),
        today = input.today,
    );

    let mut out = String::with_capacity(2048 + input.rows.len() * 1024);
    open_svg(&mut out, "bb-gantt", width, height, GANTT_TITLE, &summary);
    legend(
        &mut out,
        &[
            (Swatch::Planned, "计划 planned"),
            (Swatch::Actual, "实际 actual"),
            (Swatch::Overdue, "逾期 overdue"),
            (Swatch::Critical, "关键路径 critical path"),
            (Swatch::Today, "今天 today"),
        ],
    );

    // Stripes first, so that grid lines and bars are drawn over them.
    for i in (1..input.rows.len()).step_by(2) {
        let _ = write!(
            out,
            r#"<rect class="stripe" x="0" y="{y}" width="{w}" height="{G_ROW_H}" fill="{STRIPE}"/>"#,
            y = num(G_ROWS_TOP + i as f64 * G_ROW_H),
            w = num(width),
        );
    }
    let _ = write!(out, r#"<g class="axis">"#);
    month_ticks(&mut out, &axis, hi, rows_bottom);
    week_ticks(&mut out, &axis, rows_bottom);
    let _ = write!(
        out,
        r#"<line class="axis-line" x1="0" y1="{G_ROWS_TOP}" x2="{w}" y2="{G_ROWS_TOP}" stroke="{GRID}"/><line class="label-divider" x1="{G_LABEL_W}" y1="{G_AXIS_TOP}" x2="{G_LABEL_W}" y2="{b}" stroke="{GRID}"/></g>"#,
        w = num(width),
        b = num(rows_bottom),
    );

    for (i, row) in input.rows.iter().enumerate() {
        gantt_row(&mut out, &axis, input.today, row, G_ROWS_TOP + i as f64 * G_ROW_H);
    }

    let tx = axis.today_x(input.today);
    let _ = write!(
        out,
        r#"<g class="today"><line class="today-line" x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="{TODAY}" stroke-width="2" stroke-dasharray="4 3"/><text class="today-label" x="{lx}" y="{G_TODAY_LABEL_Y}" text-anchor="middle" font-size="11" font-weight="600" fill="{TODAY}">今天 today</text></g></svg>"#,
        x = num(tx),
        y1 = num(G_TODAY_LABEL_Y + 3.0),
        y2 = num(rows_bottom),
        lx = num(tx.clamp(G_LABEL_W + 34.0, width - 34.0)),
    );
    out
}

fn gantt_row(out: &mut String, axis: &Axis, today: NaiveDate, row: &GanttRow, y: f64) {
    let actual = actual_interval(row, today);
    let running = matches!(actual, Some((_, _, true)));
    let mut class = String::from("gantt-row");
    for (on, name) in [(row.critical, " critical"), (row.overdue, " overdue"), (running, " running")] {
        if on {
            class.push_str(name);
        }
    }
    let meta: Vec<&str> = [row.code.as_str(), row.stage_label.as_str(), row.status_label.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    let meta = meta.join(" · ");
    let mut tooltip = if meta.is_empty() { row.name.clone() } else { format!("{} — {meta}", row.name) };
    if row.critical {
        tooltip.push_str(" · 关键路径 critical path");
    }
    if row.overdue {
        tooltip.push_str(" · 逾期 overdue");
    }
    let name_units = if row.critical { 25 } else { 31 };
    let _ = write!(
        out,
        r#"<g class="{class}"><g class="row-label"><title>{tooltip}</title><text class="row-name" x="8" y="{ny}" font-size="13">{name}</text><text class="row-meta" x="8" y="{my}" font-size="10" fill="{MUTED}">{meta}</text>"#,
        tooltip = escape(&tooltip),
        ny = num(y + 15.0),
        my = num(y + 28.0),
        name = escape(&truncate(&row.name, name_units)),
        meta = escape(&truncate(&meta, 38)),
    );
    if row.critical {
        let _ = write!(
            out,
            r##"<rect class="critical-badge" x="{bx}" y="{by}" width="32" height="14" rx="3" fill="{CRITICAL}"/><text class="critical-mark" x="{tx}" y="{ty}" text-anchor="middle" font-size="10" fill="#ffffff">关键</text>"##,
            bx = num(G_LABEL_W - 42.0),
            by = num(y + 4.0),
            tx = num(G_LABEL_W - 26.0),
            ty = num(y + 15.0),
        );
    }
    out.push_str("</g>");

    // The planned bar; an overdue item that has not started is outlined in red, since it has no actual bar.
    let (ps, pe) = ordered(row.planned_start, row.planned_end);
    let (px, pw) = axis.bar(ps, pe);
    let late_unstarted = row.overdue && actual.is_none();
    let fill = if late_unstarted { OVERDUE_LIGHT } else { PLANNED_FILL };
    let (stroke, stroke_w) = match (row.critical, late_unstarted) {
        (true, _) => (CRITICAL, "2"),
        (false, true) => (OVERDUE, "1.5"),
        (false, false) => (PLANNED_STROKE, "1"),
    };
    let _ = write!(
        out,
        r#"<rect class="planned" x="{x}" y="{y}" width="{w}" height="11" rx="2" fill="{fill}" stroke="{stroke}" stroke-width="{stroke_w}"><title>计划 planned: {ps} – {pe} ({n} 天 days)</title></rect>"#,
        x = num(px),
        y = num(y + 5.0),
        w = num(pw),
        n = (pe - ps).num_days() + 1,
    );

    if let Some((s, e, running)) = actual {
        let (ax, aw) = axis.bar(s, e);
        let fill = if row.overdue { OVERDUE } else { ACTUAL };
        let stroke = if row.critical { format!(r#" stroke="{CRITICAL}" stroke-width="1.5""#) } else { String::new() };
        let end = if running { format!("进行中 running ({today})") } else { e.to_string() };
        let late = if row.overdue { " · 逾期 overdue" } else { "" };
        let _ = write!(
            out,
            r#"<rect class="actual{r}{o}" x="{x}" y="{y}" width="{w}" height="11" rx="2" fill="{fill}"{stroke}><title>实际 actual: {s} – {end}{late}</title></rect>"#,
            r = if running { " running" } else { "" },
            o = if row.overdue { " overdue" } else { "" },
            x = num(ax),
            y = num(y + 18.0),
            w = num(aw),
        );
    }
    out.push_str("</g>");
}

// ---------------------------------------------------------------------------------------------------------------
// Horizontal bar charts (条形图)
// ---------------------------------------------------------------------------------------------------------------

const B_W: f64 = 640.0;
const B_LABEL_W: f64 = 170.0;
const B_BAR_X: f64 = B_LABEL_W + 8.0;
const B_BAR_MAX: f64 = 372.0;
const B_TITLE_Y: f64 = 20.0;
const B_TOP: f64 = 32.0;
const B_ROW_H: f64 = 26.0;
const B_BAR_H: f64 = 16.0;
const B_PAD_B: f64 = 24.0;

/// One bar ready to draw.
struct HBar {
    label: String,
    /// Length on the axis (already clamped to it), `None` for no data.
    length: Option<f64>,
    /// The value label beside the bar.
    text: String,
}

/// A value axis: its maximum and the tick values.
struct Scale {
    max: f64,
    ticks: Vec<f64>,
}

/// A scale from 0 with 1-2-5 steps covering `max`; steps are at least 0.1, since labels keep one decimal.
fn nice_scale(max: f64) -> Scale {
    let max = if max.is_finite() && max > 0.0 { max } else { 1.0 };
    let raw = max / 4.0;
    let exp = 10_f64.powf(raw.log10().floor());
    let f = raw / exp;
    let step = (if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    } * exp)
        .max(0.1);
    let n = (max / step - 1e-9).ceil().clamp(1.0, 10.0) as u32;
    let top = step * f64::from(n);
    if !top.is_finite() {
        return Scale { max, ticks: vec![0.0, max] };
    }
    Scale { max: top, ticks: (0..=n).map(|k| step * f64::from(k)).collect() }
}

fn hbar_chart(class: &str, title: &str, bars: &[HBar], scale: &Scale, tick_suffix: &str) -> String {
    let rows_bottom = B_TOP + 4.0 + bars.len() as f64 * B_ROW_H;
    let height = rows_bottom + B_PAD_B;
    let data: Vec<String> = bars.iter().map(|b| format!("{}: {}", b.label, b.text)).collect();
    let summary = if title.is_empty() { data.join("; ") } else { format!("{title}: {}", data.join("; ")) };
    let mut out = String::with_capacity(1024 + bars.len() * 512);
    open_svg(&mut out, class, B_W, height, title, &summary);
    let _ = write!(
        out,
        r#"<text class="chart-title" x="8" y="{B_TITLE_Y}" font-size="14" font-weight="600">{}</text>"#,
        escape(&truncate(title, 90))
    );

    let _ = write!(out, r#"<g class="axis">"#);
    for &t in &scale.ticks {
        let x = num(B_BAR_X + t / scale.max * B_BAR_MAX);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{x}" y1="{B_TOP}" x2="{x}" y2="{y2}" stroke="{GRID_LIGHT}"/><text class="tick-label" x="{x}" y="{ty}" text-anchor="middle" font-size="10" fill="{MUTED}">{v}{tick_suffix}</text>"#,
            y2 = num(rows_bottom),
            ty = num(rows_bottom + 14.0),
            v = num(t),
        );
    }
    let _ = write!(
        out,
        r#"<line class="baseline" x1="{B_BAR_X}" y1="{B_TOP}" x2="{B_BAR_X}" y2="{y2}" stroke="{GRID}"/></g>"#,
        y2 = num(rows_bottom),
    );

    for (i, bar) in bars.iter().enumerate() {
        let y = B_TOP + 4.0 + i as f64 * B_ROW_H;
        let by = y + (B_ROW_H - B_BAR_H) / 2.0;
        let ty = num(y + B_ROW_H / 2.0 + 4.0);
        let _ = write!(
            out,
            r#"<g class="bar-row{nd}"><title>{tip}</title><text class="bar-label" x="{lx}" y="{ty}" text-anchor="end">{label}</text>"#,
            nd = if bar.length.is_none() { " no-data" } else { "" },
            tip = escape(&format!("{}: {}", bar.label, bar.text)),
            lx = num(B_LABEL_W),
            label = escape(&truncate(&bar.label, 26)),
        );
        if class == "bb-rate-chart" {
            let _ = write!(
                out,
                r#"<rect class="track" x="{B_BAR_X}" y="{by}" width="{B_BAR_MAX}" height="{B_BAR_H}" rx="2" fill="{TRACK}"/>"#,
                by = num(by),
            );
        }
        let text_x = match bar.length {
            Some(len) => {
                let w = (len / scale.max * B_BAR_MAX).clamp(0.0, B_BAR_MAX);
                let _ = write!(
                    out,
                    r#"<rect class="bar" x="{B_BAR_X}" y="{by}" width="{w}" height="{B_BAR_H}" rx="2" fill="{ACTUAL}"/>"#,
                    by = num(by),
                    w = num(w),
                );
                B_BAR_X + w + 6.0
            }
            None => B_BAR_X + 6.0,
        };
        let _ = write!(
            out,
            r#"<text class="bar-value" x="{x}" y="{ty}"{fill}>{text}</text></g>"#,
            x = num(text_x),
            fill = if bar.length.is_none() { format!(r#" fill="{MUTED}""#) } else { String::new() },
            text = escape(&bar.text),
        );
    }
    out.push_str("</svg>");
    out
}

/// Renders a horizontal bar chart (条形图) of counts or amounts, e.g. cases by stage (各阶段案件数) or overdue items
/// by unit (各单位逾期数), with a value label and `unit` (单位, e.g. "件") beside each bar.
///
/// The axis starts at 0 and ends at a round number above the largest value. Negative values draw no bar but keep
/// their label; not-a-number and infinite values show "无数据 no data". With no bars the chart is a
/// "暂无数据 no data" placeholder.
pub fn bar_chart(title: &str, bars: &[(String, f64)], unit: &str) -> String {
    if bars.is_empty() {
        return placeholder("bb-bar-chart", title);
    }
    let max = bars.iter().map(|(_, v)| *v).filter(|v| v.is_finite()).fold(0.0_f64, f64::max);
    let scale = nice_scale(max);
    let bars: Vec<HBar> = bars
        .iter()
        .map(|(label, v)| {
            if v.is_finite() {
                let text = if unit.is_empty() { num(*v) } else { format!("{} {unit}", num(*v)) };
                HBar { label: label.clone(), length: Some(v.max(0.0)), text }
            } else {
                HBar { label: label.clone(), length: None, text: NO_VALUE.to_owned() }
            }
        })
        .collect();
    hbar_chart("bb-bar-chart", title, &bars, &scale, "")
}

/// Renders a chart of percentages from 0 to 100 (百分比条形图), e.g. the on-time rate (按时办结率) or satisfaction
/// (满意度). Each bar sits on a grey track standing for 100%.
///
/// `None` and not-a-number show "无数据 no data"; values outside 0–100 keep their label but the bar is clamped
/// to the track. With no bars the chart is a "暂无数据 no data" placeholder.
pub fn rate_chart(title: &str, bars: &[(String, Option<f64>)]) -> String {
    if bars.is_empty() {
        return placeholder("bb-rate-chart", title);
    }
    let scale = Scale { max: 100.0, ticks: vec![0.0, 25.0, 50.0, 75.0, 100.0] };
    let bars: Vec<HBar> = bars
        .iter()
        .map(|(label, v)| match v {
            Some(v) if v.is_finite() => {
                HBar { label: label.clone(), length: Some(v.clamp(0.0, 100.0)), text: format!("{}%", num(*v)) }
            }
            _ => HBar { label: label.clone(), length: None, text: NO_VALUE.to_owned() },
        })
        .collect();
    hbar_chart("bb-rate-chart", title, &bars, &scale, "%")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn row(code: &str, name: &str, start: NaiveDate, end: NaiveDate) -> GanttRow {
        GanttRow {
            code: code.to_owned(),
            name: name.to_owned(),
            stage_label: "立项 initiation".to_owned(),
            planned_start: start,
            planned_end: end,
            actual_start: None,
            actual_end: None,
            critical: false,
            status_label: "未开始 not started".to_owned(),
            overdue: false,
        }
    }

    /// A 30-day plan (March 2024), so a day is exactly 28 units wide.
    fn march(rows: Vec<GanttRow>, today: NaiveDate) -> GanttInput {
        GanttInput { start: d(2024, 3, 1), end: d(2024, 3, 30), today, rows }
    }

    /// Checks that the document is well-formed XML as far as these charts go: balanced tags, quoted attributes,
    /// only the five predefined entities, no stray `<`, `>` or `&`.
    fn assert_well_formed(svg: &str) {
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{svg}");
        assert!(svg.ends_with("</svg>"), "{svg}");
        let check_entities = |s: &str| {
            let mut rest = s;
            while let Some(i) = rest.find('&') {
                let end = rest[i..].find(';').unwrap_or_else(|| panic!("unterminated entity in {s}"));
                let name = &rest[i + 1..i + end];
                assert!(matches!(name, "amp" | "lt" | "gt" | "quot" | "apos"), "entity &{name}; in {s}");
                rest = &rest[i + end + 1..];
            }
        };
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find('<') {
            let text = &rest[..i];
            assert!(!text.contains('>'), "stray > in text {text:?}");
            check_entities(text);
            let end = rest[i..].find('>').expect("unterminated tag") + i;
            let tag = &rest[i + 1..end];
            assert!(!tag.contains('<'), "< inside tag {tag:?}");
            assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes in {tag:?}");
            check_entities(tag);
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name), "mismatched </{name}>");
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().expect("tag name"));
            }
            rest = &rest[end + 1..];
        }
        assert!(rest.is_empty(), "text after the root: {rest:?}");
        assert!(stack.is_empty(), "unclosed {stack:?}");
    }

    /// Checks the rules every chart follows: accessible, scalable, no inline style, no script, no external link.
    fn assert_chart(svg: &str) {
        assert_well_formed(svg);
        for needle in [r#"role="img""#, "aria-label=\"", "<title>", "viewBox=\"0 0 ", r#"width="100%""#] {
            assert!(svg.contains(needle), "missing {needle} in {svg}");
        }
        for banned in ["style=", "<style", "<script", "href", "javascript:", "url(", "NaN", "inf"] {
            assert!(!svg.contains(banned), "found {banned} in {svg}");
        }
        assert_eq!(svg.matches("http").count(), 1, "only the namespace may be a URL");
    }

    /// The opening tags that start with `open`, up to their `>`.
    fn elements<'a>(svg: &'a str, open: &str) -> Vec<&'a str> {
        svg.match_indices(open).map(|(i, _)| &svg[i..i + svg[i..].find('>').unwrap()]).collect()
    }

    fn attr(element: &str, name: &str) -> f64 {
        let key = format!(" {name}=\"");
        let start = element.find(&key).unwrap_or_else(|| panic!("no {name} in {element}")) + key.len();
        let len = element[start..].find('"').unwrap();
        element[start..start + len].parse().unwrap()
    }

    /// Every number in an attribute has at most one decimal.
    fn assert_one_decimal(svg: &str) {
        for (i, _) in svg.match_indices("=\"") {
            let value = &svg[i + 2..i + 2 + svg[i + 2..].find('"').unwrap()];
            for part in value.split(' ') {
                if part.parse::<f64>().is_ok() {
                    let decimals = part.split_once('.').map_or(0, |(_, f)| f.len());
                    assert!(decimals <= 1, "{part} in {value}");
                }
            }
        }
    }

    #[test]
    fn escape_replaces_the_five_xml_characters() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;"
        );
        assert_eq!(escape("建设工程规划许可证"), "建设工程规划许可证");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn escape_drops_characters_xml_forbids() {
        assert_eq!(escape("a\u{0}b\u{1b}c\u{FFFF}d"), "abcd");
        assert_eq!(escape("a\tb\nc"), "a\tb\nc");
    }

    #[test]
    fn numbers_have_at_most_one_decimal() {
        assert_eq!(num(2.0), "2");
        assert_eq!(num(2.25), "2.3");
        assert_eq!(num(1.04), "1");
        assert_eq!(num(-0.04), "0");
        assert_eq!(num(-3.5), "-3.5");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(f64::INFINITY), "0");
        assert_eq!(num(1e300).len(), 301);
    }

    #[test]
    fn truncation_counts_wide_characters_twice() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("建设工程规划许可证", 18), "建设工程规划许可证");
        assert_eq!(truncate("建设工程规划许可证核发", 10), "建设工程…");
        assert_eq!(truncate("abcdefghij", 6), "abcd…");
        assert!(text_units(&truncate("用地 land use 预审 pre-review 意见书 opinion", 20)) <= 20);
    }

    #[test]
    fn script_in_any_label_is_escaped() {
        let evil = "<script>alert('x')</script>";
        let mut r = row(evil, evil, d(2024, 3, 1), d(2024, 3, 5));
        r.stage_label = evil.to_owned();
        r.status_label = evil.to_owned();
        r.critical = true;
        let charts = [
            gantt(&march(vec![r], d(2024, 3, 3))),
            bar_chart(evil, &[(evil.to_owned(), 3.0)], evil),
            rate_chart(evil, &[(evil.to_owned(), Some(50.0)), (evil.to_owned(), None)]),
            bar_chart(evil, &[], ""),
            rate_chart(evil, &[]),
        ];
        for svg in &charts {
            assert_chart(svg);
            assert!(svg.contains("&lt;script&gt;"), "{svg}");
        }
    }

    #[test]
    fn gantt_has_legend_ticks_and_accessible_name() {
        let svg = gantt(&march(vec![row("A01", "用地预审", d(2024, 3, 4), d(2024, 3, 20))], d(2024, 3, 11)));
        assert_chart(&svg);
        assert_one_decimal(&svg);
        for label in ["计划 planned", "实际 actual", "关键路径 critical path", "今天 today", "逾期 overdue"]
        {
            assert!(svg.contains(&format!(">{label}<")), "legend {label}");
        }
        assert!(svg.contains(r#"class="bb-chart bb-gantt""#));
        assert!(svg.contains("<title>计划甘特图 plan Gantt chart</title>"));
        assert!(svg.contains(r#"aria-label="计划甘特图 plan Gantt chart: 2024-03-01 – 2024-03-30, 1 项 items"#));
        assert!(svg.contains(">2024年3月<"), "month label");
        // March 2024 starts on a Friday: Mondays are the 4th, 11th, 18th and 25th.
        assert_eq!(elements(&svg, r#"<line class="tick-week""#).len(), 4);
        assert!(svg.contains(">3/4<") && svg.contains(">3/25<"));
        assert!(svg.contains("用地预审"));
        assert!(svg.contains("A01 · 立项 initiation · 未开始 not started"));
    }

    #[test]
    fn today_line_sits_in_the_middle_of_todays_cell() {
        let svg = gantt(&march(vec![row("A01", "用地预审", d(2024, 3, 4), d(2024, 3, 20))], d(2024, 3, 11)));
        let line = elements(&svg, r#"<line class="today-line""#);
        assert_eq!(line.len(), 1);
        // 30 days over 840 units: 28 per day; the 11th is 10 days in.
        assert_eq!(attr(line[0], "x1"), G_LABEL_W + 10.0 * 28.0 + 14.0);
        assert_eq!(attr(line[0], "x2"), attr(line[0], "x1"));
        assert_eq!(attr(line[0], "y2"), G_ROWS_TOP + G_ROW_H);
    }

    #[test]
    fn planned_bar_covers_its_days() {
        let svg = gantt(&march(vec![row("A01", "用地预审", d(2024, 3, 4), d(2024, 3, 20))], d(2024, 3, 11)));
        let bar = elements(&svg, r#"<rect class="planned""#)[0];
        assert_eq!(attr(bar, "x"), G_LABEL_W + 3.0 * 28.0);
        assert_eq!(attr(bar, "width"), 17.0 * 28.0);
        assert!(svg.contains("计划 planned: 2024-03-04 – 2024-03-20 (17 天 days)"));
        assert!(elements(&svg, r#"<rect class="actual"#).is_empty(), "not started: no actual bar");
    }

    #[test]
    fn critical_rows_are_marked() {
        let mut critical = row("A01", "用地预审", d(2024, 3, 4), d(2024, 3, 20));
        critical.critical = true;
        critical.actual_start = Some(d(2024, 3, 4));
        critical.actual_end = Some(d(2024, 3, 8));
        let plain = row("A02", "消防审查", d(2024, 3, 4), d(2024, 3, 20));
        let svg = gantt(&march(vec![critical, plain], d(2024, 3, 11)));
        assert_chart(&svg);
        assert_eq!(svg.matches(">关键</text>").count(), 1, "one badge for one critical row");
        assert_eq!(elements(&svg, r#"<g class="gantt-row critical""#).len(), 1);
        assert_eq!(elements(&svg, r#"<g class="gantt-row">"#).len(), 1);
        let planned = elements(&svg, r#"<rect class="planned""#);
        assert!(planned[0].contains(&format!(r#"stroke="{CRITICAL}" stroke-width="2""#)));
        assert!(planned[1].contains(&format!(r#"stroke="{PLANNED_STROKE}""#)));
        assert!(elements(&svg, r#"<rect class="actual""#)[0].contains(&format!(r#"stroke="{CRITICAL}""#)));
        assert!(svg.contains("用地预审 — A01 · 立项 initiation · 未开始 not started · 关键路径 critical path"));
        assert!(svg.contains("关键路径 critical path 1, 逾期 overdue 0"));
    }

    #[test]
    fn running_bar_extends_to_the_end_of_today() {
        let mut running = row("A01", "用地预审", d(2024, 3, 4), d(2024, 3, 8));
        running.actual_start = Some(d(2024, 3, 5));
        let today = d(2024, 3, 11);
        let svg = gantt(&march(vec![running], today));
        let bar = elements(&svg, r#"<rect class="actual running""#);
        assert_eq!(bar.len(), 1);
        assert_eq!(attr(bar[0], "x"), G_LABEL_W + 4.0 * 28.0);
        assert_eq!(attr(bar[0], "x") + attr(bar[0], "width"), G_LABEL_W + 11.0 * 28.0);
        assert!(bar[0].contains(&format!(r#"fill="{ACTUAL}""#)));
        assert!(svg.contains("实际 actual: 2024-03-05 – 进行中 running (2024-03-11)"));
        assert_eq!(elements(&svg, r#"<g class="gantt-row running""#).len(), 1);
    }

    #[test]
    fn overdue_bars_are_red() {
        let mut late = row("A01", "用地预审", d(2024, 3, 4), d(2024, 3, 8));
        late.actual_start = Some(d(2024, 3, 4));
        late.overdue = true;
        let mut unstarted = row("A02", "消防审查", d(2024, 3, 4), d(2024, 3, 8));
        unstarted.overdue = true;
        let svg = gantt(&march(vec![late, unstarted], d(2024, 3, 11)));
        let actual = elements(&svg, r#"<rect class="actual running overdue""#);
        assert_eq!(actual.len(), 1);
        assert!(actual[0].contains(&format!(r#"fill="{OVERDUE}""#)));
        let planned = elements(&svg, r#"<rect class="planned""#);
        assert!(planned[1].contains(&format!(r#"stroke="{OVERDUE}""#)), "unstarted overdue is outlined red");
        assert!(svg.contains("逾期 overdue 2"));
    }

    #[test]
    fn range_widens_to_today_and_actual_dates() {
        let mut early = row("A01", "用地预审", d(2024, 3, 4), d(2024, 3, 8));
        early.actual_start = Some(d(2024, 2, 20));
        early.actual_end = Some(d(2024, 3, 2));
        let mut late = row("A02", "消防审查", d(2024, 3, 10), d(2024, 3, 12));
        late.actual_start = Some(d(2024, 3, 10));
        late.actual_end = Some(d(2024, 4, 3));
        let input = march(vec![early, late], d(2024, 4, 10));
        assert_eq!(span(&input), (d(2024, 2, 20), d(2024, 4, 10)));

        let svg = gantt(&input);
        assert_chart(&svg);
        assert!(svg.contains("2024-02-20 – 2024-04-10"));
        // The partial February before the 1st of March is still labelled, with its year, at the left edge.
        assert!(svg.contains(">2024年2月<") && svg.contains(">3月<") && svg.contains(">4月<"), "{svg}");
        let actual = elements(&svg, r#"<rect class="actual""#);
        assert_eq!(attr(actual[0], "x"), G_LABEL_W, "the earliest actual day starts the axis");
        let today = attr(elements(&svg, r#"<line class="today-line""#)[0], "x1");
        let view_w: f64 = svg.split("viewBox=\"0 0 ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        assert!(today < view_w && today > attr(actual[1], "x"), "today inside the chart");
        for x in elements(&svg, "<rect").iter().filter(|e| e.contains(" x=\"")).map(|e| attr(e, "x")) {
            assert!((0.0..view_w).contains(&x), "{x} outside 0..{view_w}");
        }
    }

    #[test]
    fn zero_day_and_reversed_items_stay_visible() {
        let milestone = row("M1", "批复 approval", d(2024, 3, 15), d(2024, 3, 15));
        let reversed = row("R1", "倒置 reversed", d(2024, 3, 20), d(2024, 3, 18));
        let svg = gantt(&march(vec![milestone, reversed], d(2024, 3, 1)));
        let planned = elements(&svg, r#"<rect class="planned""#);
        assert_eq!(attr(planned[0], "width"), 28.0);
        assert_eq!(attr(planned[1], "x"), G_LABEL_W + 17.0 * 28.0);
        assert_eq!(attr(planned[1], "width"), 3.0 * 28.0);

        // Over ten years a day is under a unit wide; a one-day item still gets a visible bar.
        let long = GanttInput {
            start: d(2020, 1, 1),
            end: d(2034, 12, 31),
            today: d(2024, 3, 1),
            rows: vec![row("M1", "批复 approval", d(2024, 3, 15), d(2024, 3, 15))],
        };
        let svg = gantt(&long);
        assert_chart(&svg);
        assert_one_decimal(&svg);
        assert!(attr(elements(&svg, r#"<rect class="planned""#)[0], "width") >= G_MIN_BAR_W);
        // Fifteen years fill the widest plot: a label every other month.
        assert!(svg.contains(">2020年1月<") && svg.contains(">3月<") && !svg.contains(">2月<"), "{svg}");
    }

    #[test]
    fn month_labels_thin_out_to_years_on_long_ranges() {
        assert_eq!(month_step(28.0), 1);
        assert_eq!(month_step(1.5), 2);
        assert_eq!(month_step(0.5), 6);
        assert_eq!(month_step(0.1), 24);
        assert!(month_step(1e-6) >= 12 * 100_000);
        let century = GanttInput {
            start: d(1950, 1, 1),
            end: d(2049, 12, 31),
            today: d(2024, 3, 1),
            rows: vec![row("A01", "用地预审", d(2024, 3, 4), d(2024, 3, 8))],
        };
        let svg = gantt(&century);
        assert_chart(&svg);
        assert!(svg.contains(">1950年<") && svg.contains(">2000年<") && !svg.contains("月<"), "{svg}");
    }

    #[test]
    fn reversed_plan_window_does_not_panic() {
        let input = GanttInput {
            start: d(2024, 3, 30),
            end: d(2024, 3, 1),
            today: d(2024, 3, 10),
            rows: vec![row("A01", "用地预审", d(2024, 3, 4), d(2024, 3, 8))],
        };
        assert_eq!(span(&input), (d(2024, 3, 1), d(2024, 3, 30)));
        assert_chart(&gantt(&input));
    }

    #[test]
    fn extreme_dates_do_not_panic_and_stay_small() {
        let mut r = row("X", "极端 extreme", NaiveDate::MIN, NaiveDate::MAX);
        r.actual_start = Some(NaiveDate::MAX);
        let input = GanttInput { start: NaiveDate::MAX, end: NaiveDate::MIN, today: NaiveDate::MAX, rows: vec![r] };
        let svg = gantt(&input);
        assert_chart(&svg);
        assert!(svg.len() < 64 * 1024, "{} bytes", svg.len());
    }

    #[test]
    fn long_names_are_truncated_with_the_full_name_in_the_tooltip() {
        let name = "建设项目用地预审与选址意见书核发（含规划条件核实及土地利用总体规划符合性审查）";
        let svg = gantt(&march(vec![row("A01", name, d(2024, 3, 4), d(2024, 3, 8))], d(2024, 3, 1)));
        assert!(svg.contains(&format!("<title>{name} — A01")));
        let shown = svg.split(r#"class="row-name""#).nth(1).unwrap();
        let shown = &shown[shown.find('>').unwrap() + 1..shown.find("</text>").unwrap()];
        assert!(shown.ends_with('…') && text_units(shown) <= 31, "{shown}");
    }

    #[test]
    fn empty_inputs_render_a_placeholder() {
        let empty = GanttInput { start: d(2024, 3, 1), end: d(2024, 3, 30), today: d(2024, 3, 1), rows: vec![] };
        for svg in [gantt(&empty), bar_chart("各阶段案件 cases by stage", &[], "件"), rate_chart("", &[])] {
            assert_chart(&svg);
            assert!(svg.contains(">暂无数据 no data<"), "{svg}");
            assert!(svg.contains("bb-chart-empty"));
        }
    }

    #[test]
    fn bar_chart_scales_to_a_round_maximum() {
        let bars =
            [("受理 intake".to_owned(), 12.0), ("审查 review".to_owned(), 30.0), ("办结 closed".to_owned(), 0.0)];
        let svg = bar_chart("各阶段案件 cases by stage", &bars, "件");
        assert_chart(&svg);
        assert_one_decimal(&svg);
        // 30 over four steps: a step of 10, an axis to 30.
        assert!(svg.contains(">0<") && svg.contains(">10<") && svg.contains(">30<") && !svg.contains(">40<"));
        let rects = elements(&svg, r#"<rect class="bar""#);
        assert_eq!(rects.len(), 3);
        assert_eq!(attr(rects[1], "width"), B_BAR_MAX);
        assert_eq!(attr(rects[0], "width"), (12.0 / 30.0 * B_BAR_MAX * 10.0_f64).round() / 10.0);
        assert_eq!(attr(rects[2], "width"), 0.0);
        assert!(svg.contains(">12 件<") && svg.contains(">0 件<"));
        assert!(svg.contains(
            r#"aria-label="各阶段案件 cases by stage: 受理 intake: 12 件; 审查 review: 30 件; 办结 closed: 0 件""#
        ));
    }

    #[test]
    fn bar_chart_survives_nan_negative_and_infinite_values() {
        let bars = [
            ("a".to_owned(), f64::NAN),
            ("b".to_owned(), -3.0),
            ("c".to_owned(), f64::INFINITY),
            ("d".to_owned(), 2.345),
            ("e".to_owned(), f64::NEG_INFINITY),
        ];
        let svg = bar_chart("逾期 overdue by unit", &bars, "");
        assert_chart(&svg);
        assert_one_decimal(&svg);
        assert_eq!(svg.matches(">无数据 no data<").count(), 3);
        assert!(svg.contains(">-3<") && svg.contains(">2.3<"));
        let rects = elements(&svg, r#"<rect class="bar""#);
        assert_eq!(rects.len(), 2);
        assert_eq!(attr(rects[0], "width"), 0.0, "negative draws no bar");

        let all_bad = bar_chart("x", &[("a".to_owned(), f64::NAN), ("b".to_owned(), -1.0)], "件");
        assert_chart(&all_bad);
        let huge = bar_chart("x", &[("a".to_owned(), f64::MAX), ("b".to_owned(), 0.001)], "件");
        assert_well_formed(&huge);
        assert!(elements(&huge, r#"<rect class="bar""#).iter().all(|r| attr(r, "width") <= B_BAR_MAX));
    }

    #[test]
    fn rate_chart_clamps_bars_and_shows_missing_data() {
        let bars = [
            ("按时办结率 on time".to_owned(), Some(87.5)),
            ("满意度 satisfaction".to_owned(), None),
            ("超额 over".to_owned(), Some(150.0)),
            ("负值 negative".to_owned(), Some(-5.0)),
            ("非数 nan".to_owned(), Some(f64::NAN)),
            ("精度 precision".to_owned(), Some(66.666)),
        ];
        let svg = rate_chart("按时办结率 on-time rate", &bars);
        assert_chart(&svg);
        assert_one_decimal(&svg);
        assert!(svg.contains(">87.5%<") && svg.contains(">150%<") && svg.contains(">66.7%<"));
        assert!(svg.contains(">0%<") && svg.contains(">100%<"), "axis ticks");
        assert_eq!(svg.matches(">无数据 no data<").count(), 2);
        assert_eq!(elements(&svg, r#"<rect class="track""#).len(), 6);
        let rects = elements(&svg, r#"<rect class="bar""#);
        assert_eq!(rects.len(), 4);
        assert_eq!(attr(rects[0], "width"), 0.875 * B_BAR_MAX);
        assert_eq!(attr(rects[1], "width"), B_BAR_MAX);
        assert_eq!(attr(rects[2], "width"), 0.0);
        assert_eq!(elements(&svg, r#"<g class="bar-row no-data""#).len(), 2);
    }

    #[test]
    fn output_is_deterministic() {
        let mut r = row("A01", "用地预审", d(2024, 3, 4), d(2024, 3, 20));
        r.actual_start = Some(d(2024, 3, 5));
        let input = march(vec![r], d(2024, 3, 11));
        assert_eq!(gantt(&input), gantt(&input.clone()));
        let bars = [("a".to_owned(), 1.5)];
        assert_eq!(bar_chart("t", &bars, "件"), bar_chart("t", &bars, "件"));
        let rates = [("a".to_owned(), Some(1.5))];
        assert_eq!(rate_chart("t", &rates), rate_chart("t", &rates));
    }

    #[test]
    fn nice_scale_uses_round_steps() {
        let s = nice_scale(7.0);
        assert_eq!(s.max, 8.0);
        assert_eq!(s.ticks, vec![0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(nice_scale(0.0).max, 1.0);
        assert_eq!(nice_scale(0.03).ticks, vec![0.0, 0.1]);
        assert_eq!(nice_scale(100.0).ticks, vec![0.0, 50.0, 100.0]);
        assert_eq!(nice_scale(1234.0).max, 1500.0);
        assert_eq!(nice_scale(f64::NAN).max, 1.0);
    }
}
