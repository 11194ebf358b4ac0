//! Bar charts drawn as inline SVG on the server: no script, no external asset, so the pages keep
//! their `default-src 'self'` policy and print as they show. Each bar is a `rect.bar` with its value
//! in a `<title>` (the browser's tooltip) and written above it.

use maud::{html, Markup};

/// One bar: its label under the axis, its value, a CSS class for its colour, and a tooltip.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub class: &'static str,
    pub title: String,
}

/// A second series over the bars, one value per bar, drawn as a line through the bars' centres
/// (decisions over intake, or what the team can clear by each hour over what is due by then).
pub struct Series {
    pub values: Vec<f64>,
    pub class: &'static str,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
/// Room for the value labels above and the bar labels below.
const TOP: f64 = 18.0;
const BOTTOM: f64 = 22.0;
const LEFT: f64 = 8.0;

/// Above this many bars the values are left to the tooltips: written above each they would overlap.
const MAX_WRITTEN_VALUES: usize = 24;

/// Vertical bars with their labels, scaled so the tallest bar (or the series' top) fills the height.
/// Empty labels are not drawn (a label every so many bars for a long series).
pub fn bars(id: &str, caption: &str, bars: &[Bar], series: Option<&Series>) -> Markup {
    let top = bars
        .iter()
        .map(|b| b.value)
        .chain(series.iter().flat_map(|s| s.values.iter().copied()))
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let plot = HEIGHT - TOP - BOTTOM;
    let slot = (WIDTH - LEFT) / bars.len().max(1) as f64;
    let y = |v: f64| TOP + plot * (1.0 - v / top);
    html! {
        figure.chart {
            svg id=(id) viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(caption) {
                line.axis x1=(LEFT) x2=(WIDTH) y1=(y(0.0)) y2=(y(0.0)) {}
                @for (i, b) in bars.iter().enumerate() {
                    @let x = LEFT + slot * i as f64 + slot * 0.15;
                    @let w = slot * 0.7;
                    rect class=(format!("bar {}", b.class)) x=(num(x)) y=(num(y(b.value))) width=(num(w)) height=(num(y(0.0) - y(b.value))) {
                        title { (b.title) }
                    }
                    @if bars.len() <= MAX_WRITTEN_VALUES {
                        text.value x=(num(x + w / 2.0)) y=(num(y(b.value) - 4.0)) { (num(b.value)) }
                    }
                    @if !b.label.is_empty() {
                        text.label x=(num(x + w / 2.0)) y=(num(HEIGHT - 6.0)) { (b.label) }
                    }
                }
                @if let Some(line) = series {
                    polyline class=(format!("series {}", line.class)) points=(
                        line.values
                            .iter()
                            .enumerate()
                            .map(|(i, v)| format!("{},{}", num(LEFT + slot * (i as f64 + 0.5)), num(y(*v))))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ) {}
                }
            }
            figcaption { (caption) }
        }
    }
}

/// One column of a stacked chart: its label and its parts, bottom first.
pub struct Column {
    pub label: String,
    pub parts: Vec<Bar>,
}

/// Columns of parts stacked to 100 % each: shares that change from column to column. A column with
/// nothing in it is left empty, its label still drawn.
pub fn shares(id: &str, caption: &str, columns: &[Column], legend: &[(&str, &str)]) -> Markup {
    let plot = HEIGHT - TOP - BOTTOM;
    let slot = (WIDTH - LEFT) / columns.len().max(1) as f64;
    html! {
        figure.chart {
            svg id=(id) viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(caption) {
                line.axis x1=(LEFT) x2=(WIDTH) y1=(TOP + plot) y2=(TOP + plot) {}
                @for (i, c) in columns.iter().enumerate() {
                    @let x = LEFT + slot * i as f64 + slot * 0.15;
                    @let w = slot * 0.7;
                    @let total: f64 = c.parts.iter().map(|p| p.value).sum();
                    @if total > 0.0 {
                        @for (k, p) in c.parts.iter().enumerate() {
                            @let below: f64 = c.parts[..k].iter().map(|p| p.value).sum();
                            @let h = plot * p.value / total;
                            @let y = TOP + plot - plot * below / total - h;
                            rect class=(format!("bar {}", p.class)) x=(num(x)) y=(num(y)) width=(num(w)) height=(num(h)) {
                                title { (p.title) }
                            }
                        }
                    }
                    text.label x=(num(x + w / 2.0)) y=(num(HEIGHT - 6.0)) { (c.label) }
                }
            }
            figcaption {
                @for (class, name) in legend {
                    span.legend { svg.swatch viewBox="0 0 10 10" { rect class=(format!("bar {class}")) x="0" y="0" width="10" height="10" {} } " " (name) }
                    " "
                }
                (caption)
            }
        }
    }
}

/// Horizontal bars, one per row, longest first as given: for counts by reason, whose labels are
/// too long to sit under a bar.
pub fn rows(id: &str, caption: &str, bars: &[Bar]) -> Markup {
    const ROW: f64 = 22.0;
    const LABEL: f64 = 190.0;
    let top = bars
        .iter()
        .map(|b| b.value)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let height = ROW * bars.len().max(1) as f64 + 4.0;
    let span = WIDTH - LABEL - 40.0;
    html! {
        figure.chart {
            svg id=(id) viewBox=(format!("0 0 {WIDTH} {height}")) role="img" aria-label=(caption) {
                @for (i, b) in bars.iter().enumerate() {
                    @let y = 2.0 + ROW * i as f64;
                    text.row-label x=(LABEL - 6.0) y=(num(y + ROW * 0.68)) { (b.label) }
                    rect class=(format!("bar {}", b.class)) x=(LABEL) y=(num(y + 3.0)) width=(num(span * b.value / top)) height=(num(ROW - 6.0)) {
                        title { (b.title) }
                    }
                    text.value-right x=(num(LABEL + span * b.value / top + 4.0)) y=(num(y + ROW * 0.68)) { (num(b.value)) }
                }
            }
            figcaption { (caption) }
        }
    }
}

/// A coordinate or a value: whole numbers without a fraction, others to one decimal.
fn num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}
