//! The report's plots, drawn with plotters as SVG text to inline in the page: per rule the measured
//! values of photos that keep and break it with the limits drawn, and per bound the sweep curves.

use photocheck_core::profile::Limit;
use photocheck_core::RuleInfo as _;
use plotters::prelude::*;

use crate::metrics::RuleStats;
use crate::sweep::Sweep;

const KEPT: RGBColor = RGBColor(46, 139, 87);
const BROKEN: RGBColor = RGBColor(200, 40, 40);
const LIMIT: RGBColor = RGBColor(20, 20, 20);
const PROPOSED: RGBColor = RGBColor(30, 90, 220);
const BINS: usize = 30;

/// A named, coloured line of (x, y) points.
type Curve = (&'static str, RGBColor, Vec<(f64, f64)>);

/// Histograms of a rule's measured values (kept vs broken, stacked in each bin), with the limits
/// (solid), the doubt band (dashed), the reject bounds (red) and the proposed limits (blue).
pub fn histogram(stats: &RuleStats, limit: &Limit, proposed: Option<&Limit>) -> String {
    let all: Vec<f64> = stats
        .values_kept
        .iter()
        .chain(&stats.values_broken)
        .copied()
        .collect();
    let marks = marks(limit);
    let (lo, hi) = range(all.iter().chain(marks.iter().map(|(v, _)| v)).copied());
    let width = (hi - lo) / BINS as f64;
    let bin = |v: f64| (((v - lo) / width) as usize).min(BINS - 1);
    let mut kept = [0usize; BINS];
    let mut broken = [0usize; BINS];
    stats.values_kept.iter().for_each(|&v| kept[bin(v)] += 1);
    stats
        .values_broken
        .iter()
        .for_each(|&v| broken[bin(v)] += 1);
    let top = (0..BINS)
        .map(|i| kept[i] + broken[i])
        .max()
        .unwrap_or(1)
        .max(1);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 240)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(36)
            .build_cartesian_2d(lo..hi, 0usize..top + top / 5 + 1)
        else {
            return svg_error();
        };
        let _ = chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(format!("{} ({})", stats.rule, stats.rule.unit()))
            .y_desc("photos")
            .label_style(("sans-serif", 12))
            .draw();
        let bar = |i: usize, from: usize, to: usize, color: RGBColor| {
            let x0 = lo + width * i as f64;
            Rectangle::new(
                [(x0, from), (x0 + width * 0.92, to)],
                color.mix(0.75).filled(),
            )
        };
        let _ = chart
            .draw_series(
                (0..BINS)
                    .filter(|&i| kept[i] > 0)
                    .map(|i| bar(i, 0, kept[i], KEPT)),
            )
            .map(|s| {
                s.label("keeps the rule")
                    .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], KEPT.filled()))
            });
        let _ = chart
            .draw_series(
                (0..BINS)
                    .filter(|&i| broken[i] > 0)
                    .map(|i| bar(i, kept[i], kept[i] + broken[i], BROKEN)),
            )
            .map(|s| {
                s.label("breaks the rule")
                    .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], BROKEN.filled()))
            });
        let y_top = top + top / 5 + 1;
        for (v, style) in marks {
            let _ = chart.draw_series(std::iter::once(PathElement::new(
                vec![(v, 0), (v, y_top)],
                style,
            )));
        }
        if let Some(p) = proposed {
            for (v, _) in self::marks(p)
                .into_iter()
                .filter(|(v, _)| !marks_contain(limit, *v))
            {
                let _ = chart.draw_series(std::iter::once(PathElement::new(
                    vec![(v, 0), (v, y_top)],
                    PROPOSED.stroke_width(2),
                )));
            }
        }
        let _ = chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 12))
            .position(SeriesLabelPosition::UpperRight)
            .draw();
        let _ = root.present();
    }
    svg
}

fn marks_contain(limit: &Limit, v: f64) -> bool {
    marks(limit).iter().any(|(m, _)| (*m - v).abs() < 1e-9)
}

/// Vertical lines for a limit: min/max solid, the doubt band dashed-looking (thin), reject bounds red.
fn marks(limit: &Limit) -> Vec<(f64, ShapeStyle)> {
    let mut out = Vec::new();
    let m = limit.margin;
    for v in [limit.min, limit.max].into_iter().flatten() {
        out.push((v, LIMIT.stroke_width(2)));
        if m > 0.0 {
            out.push((v - m, LIMIT.mix(0.4).stroke_width(1)));
            out.push((v + m, LIMIT.mix(0.4).stroke_width(1)));
        }
    }
    for v in [limit.reject_below, limit.reject_above]
        .into_iter()
        .flatten()
    {
        out.push((v, BROKEN.stroke_width(2)));
    }
    out
}

/// Rates (automation, review) in % on the left axis; counts (false approvals, wrong rejections) on
/// the right; the current value (black) and the proposed one (blue) drawn across.
pub fn sweep(s: &Sweep) -> String {
    let (lo, hi) = range(s.points.iter().map(|p| p.value));
    let top_count = s
        .points
        .iter()
        .map(|p| p.false_approvals.max(p.wrong_rejections))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 240)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(chart) = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .right_y_label_area_size(40)
            .build_cartesian_2d(lo..hi, 0.0..100.0)
        else {
            return svg_error();
        };
        let chart = chart.set_secondary_coord(lo..hi, 0.0..top_count * 1.1);
        let mut chart = chart;
        let _ = chart
            .configure_mesh()
            .x_desc(s.key.as_str())
            .y_desc("% (automation, review)")
            .label_style(("sans-serif", 12))
            .draw();
        let _ = chart
            .configure_secondary_axes()
            .y_desc("photos (false approvals, wrong rejections)")
            .label_style(("sans-serif", 12))
            .draw();
        let line = |f: fn(&crate::sweep::Point) -> f64| -> Vec<(f64, f64)> {
            s.points.iter().map(|p| (p.value, f(p))).collect()
        };
        let series: [Curve; 2] = [
            ("automation %", KEPT, line(|p| p.automation_rate * 100.0)),
            (
                "review %",
                RGBColor(230, 150, 20),
                line(|p| p.review_rate * 100.0),
            ),
        ];
        for (name, color, data) in series {
            let _ = chart
                .draw_series(LineSeries::new(data, color.stroke_width(2)))
                .map(|x| {
                    x.label(name).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2))
                    })
                });
        }
        let counts: [Curve; 2] = [
            (
                "false approvals",
                BROKEN,
                line(|p| p.false_approvals as f64),
            ),
            (
                "wrong rejections",
                RGBColor(120, 60, 160),
                line(|p| p.wrong_rejections as f64),
            ),
        ];
        for (name, color, data) in counts {
            let _ = chart
                .draw_secondary_series(LineSeries::new(data, color.stroke_width(2)))
                .map(|x| {
                    x.label(name).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2))
                    })
                });
        }
        let _ = chart.draw_series(std::iter::once(PathElement::new(
            vec![(s.current, 0.0), (s.current, 100.0)],
            LIMIT.stroke_width(1),
        )));
        if let Some(p) = s.proposed {
            let _ = chart.draw_series(std::iter::once(PathElement::new(
                vec![(p, 0.0), (p, 100.0)],
                PROPOSED.stroke_width(2),
            )));
        }
        let _ = chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 11))
            .position(SeriesLabelPosition::UpperLeft)
            .draw();
        let _ = root.present();
    }
    svg
}

/// Head length measured against ground truth: one dot per photo, the diagonal is perfect, the band
/// the published 19-22 mm.
pub fn head_lengths(points: &[(String, f64, f64)]) -> String {
    let (lo, hi) = range(points.iter().flat_map(|(_, t, m)| [*t, *m]));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (420, 380)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(lo..hi, lo..hi)
        else {
            return svg_error();
        };
        let _ = chart
            .configure_mesh()
            .x_desc("true head length, mm")
            .y_desc("measured, mm")
            .label_style(("sans-serif", 12))
            .draw();
        let _ = chart.draw_series(std::iter::once(PathElement::new(
            vec![(lo, lo), (hi, hi)],
            LIMIT.mix(0.5).stroke_width(1),
        )));
        let _ = chart.draw_series(
            points
                .iter()
                .map(|(_, t, m)| Circle::new((*t, *m), 3, PROPOSED.mix(0.7).filled())),
        );
        let _ = root.present();
    }
    svg
}

/// The span of some values, never empty.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(hi.abs() * 0.01).max(1e-3);
    (lo - pad, hi + pad)
}

fn svg_error() -> String {
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"560\" height=\"40\"><text x=\"8\" y=\"24\">plot unavailable</text></svg>".into()
}
