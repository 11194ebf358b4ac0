//! report.html: one self-contained page (inline SVG plots; thumbnails beside it in misjudged/).

use maud::{html, Markup, PreEscaped, DOCTYPE};
use photocheck_core::Profile;

use super::plots;
use crate::evaluate::{Misjudgement, Outcome, Tuning};
use crate::metrics::{limit_text, RuleStats, StatusCounts};

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1240px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}h3{font-size:15px;margin:20px 0 6px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}.bad{color:#b00;font-weight:bold}.good{color:#176b3a;font-weight:bold}
.grid{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #ddd;padding:6px;width:220px;font-size:12px}
.card img{max-width:208px;display:block;margin-bottom:4px}.plots{display:flex;flex-wrap:wrap;gap:8px}
.muted{color:#666;font-size:13px}code{background:#f5f5f5;padding:1px 3px}";

fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

fn opt_pct(v: Option<f64>) -> String {
    v.map_or("-".into(), pct)
}

pub fn page(t: &Tuning, profile: &Profile, thumbs: &[Option<String>]) -> String {
    let s = &t.summary;
    let sets: Vec<String> = s
        .sets
        .iter()
        .map(|x| {
            format!(
                "{} ({} photos, {} compliant)",
                x.name, x.photos, x.compliant
            )
        })
        .collect();
    let current = s.outcome();
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "photocheck tune: " (s.profile) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "Threshold tuning: profile " code { (s.profile) } }
                p.muted {
                    (s.photos) " labelled photos (" (s.compliant) " compliant, " (s.non_compliant)
                    " not) from " (sets.join("; ")) ". Checked on " (s.today) " (photo ages count from this day)."
                }
                h2 { "Decisions against the labels" }
                (outcomes(&current, &s.proposed))
                @if let Some(e) = &s.head_length_error_mm {
                    p {
                        "Head length against ground truth (" (e.photos) " photos with labelled crown and chin rows): "
                        "median error " b { (format!("{:.2} mm", e.median)) } ", max " b { (format!("{:.2} mm", e.max)) }
                        ", mean signed " (format!("{:+.2} mm", e.mean_signed))
                        @if e.unmeasured > 0 { "; " (e.unmeasured) " labelled photos had no head measured" }
                        "."
                    }
                    @if let Some(f) = &s.framed_head_length_error_mm {
                        p {
                            "Of those, the " (f.photos) " the engine framed, measured in its crop: median error "
                            b { (format!("{:.2} mm", f.median)) } ", max " b { (format!("{:.2} mm", f.max)) } "."
                        }
                    }
                    div { (PreEscaped(plots::head_lengths(&t.head_lengths))) }
                }
                h2 { "Proposed profile" }
                p.muted {
                    "Zero false approvals first, then no more wrong rejections than now, then the fewest reviews; among equals, the smallest change. "
                    "Published limits (photo size, head size, crown position, photo age) keep their min and max; only their margins and reject bounds move. "
                    "Written to " code { "tuned-profile.toml" } "."
                }
                @if s.proposed_changes.is_empty() {
                    p { "No change: no limit does better on this set." }
                } @else {
                    table {
                        tr { th.l { "setting" } th { "now" } th { "proposed" } }
                        @for c in &s.proposed_changes {
                            tr { td.l { code { (c.key) } } td { (c.from) } td { (c.to) } }
                        }
                    }
                }
                h3 { "Looks (reviewed by people, never measured)" }
                table {
                    tr { th.l { "look" } th { "reviewed now" } th { "photos breaking it" } th { "of those approved if not reviewed" } th { "proposal" } }
                    @for l in &s.looks {
                        tr {
                            td.l { (l.rule) }
                            td { (if l.reviewed { "yes" } else { "no" }) }
                            td { (l.breaking) }
                            td class=(if l.approved_if_unreviewed > 0 { "bad" } else { "" }) { (l.approved_if_unreviewed) }
                            td { (if l.dropped { "stop reviewing" } else if l.reviewed { "keep reviewing" } else { "-" }) }
                        }
                    }
                }
                p.muted { "A look stops being reviewed only when at least " (crate::sweep::MIN_LOOK_EVIDENCE) " photos break it and none of them would then be approved." }
                h2 { "Misjudged photos (" (s.misjudged.len()) ")" }
                p.muted { "False approvals first, then wrong rejections, then photos where a rule they break passed (something else stopped them). Overlays as " code { "photocheck check --annotate" } " draws them." }
                div.grid {
                    @for (i, m) in s.misjudged.iter().enumerate().take(super::MAX_THUMBNAILS) {
                        div.card {
                            @if let Some(Some(src)) = thumbs.get(i) { img src=(src) alt=(m.id); }
                            b class=(if m.kind == Misjudgement::FalseApproval { "bad" } else { "" }) {
                                (match m.kind {
                                    Misjudgement::FalseApproval => "false approval",
                                    Misjudgement::WrongRejection => "wrong rejection",
                                    Misjudgement::BrokenRulePassed => "broken rule passed",
                                })
                            }
                            br; (m.id) br;
                            "decision " (m.decision) ", labelled " (if m.compliant { "compliant" } else { "non-compliant" })
                            @if !m.missed.is_empty() { br; "passed but broken: " (m.missed.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")) }
                            @if !m.wrongly_failed.is_empty() { br; "failed but kept: " (m.wrongly_failed.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")) }
                            @if !m.note.is_empty() { br; span.muted { (m.note) } }
                        }
                    }
                }
                @if s.misjudged.len() > super::MAX_THUMBNAILS {
                    p { (s.misjudged.len() - super::MAX_THUMBNAILS) " more in " code { "summary.json" } " (" code { "misjudged" } ")." }
                }
                h2 { "Rules" }
                p.muted {
                    "Per rule, over the photos whose label judges it: the engine's status for photos that break and keep the rule. "
                    "Precision and recall count a fail as the engine saying \"broken\"; flagged recall also counts uncertain (sent to review). "
                    "Histogram lines: limits black, doubt band grey, reject bounds red, proposed blue. "
                    "Sweeps move one setting over its range with everything else as now."
                }
                @for r in &s.rules {
                    (rule_section(t, r, profile))
                }
            }
        }
    };
    markup.into_string()
}

fn outcomes(now: &Outcome, proposed: &Outcome) -> Markup {
    let row = |name: &str, a: String, b: String, bad: bool| {
        html! { tr { td.l { (name) } td class=(if bad { "bad" } else { "" }) { (a) } td { (b) } } }
    };
    html! {
        table {
            tr { th.l { "" } th { "profile " (now.profile) } th { "proposed" } }
            (row("false approvals (non-compliant approved)", now.false_approvals.to_string(), proposed.false_approvals.to_string(), now.false_approvals > 0))
            (row("automation rate (compliant approved)", pct(now.automation_rate), pct(proposed.automation_rate), false))
            (row("review rate (all photos)", pct(now.review_rate), pct(proposed.review_rate), false))
            (row("wrong rejections (compliant rejected)", now.wrong_rejections.to_string(), proposed.wrong_rejections.to_string(), now.wrong_rejections > 0))
            (row("approved / reviewed / rejected",
                format!("{} / {} / {}", now.decisions.approved, now.decisions.reviewed, now.decisions.rejected),
                format!("{} / {} / {}", proposed.decisions.approved, proposed.decisions.reviewed, proposed.decisions.rejected), false))
        }
    }
}

fn rule_section(t: &Tuning, r: &RuleStats, profile: &Profile) -> Markup {
    let limit = profile.rules.get(r.rule);
    let proposed = t
        .proposal
        .profile
        .rules
        .get(r.rule)
        .filter(|p| Some(*p) != limit);
    let sweeps: Vec<_> = t
        .summary
        .sweeps
        .iter()
        .filter(|s| s.rule == r.rule)
        .collect();
    let counts = |c: &StatusCounts| html! { td { (c.fail) } td { (c.uncertain) } td { (c.pass) } };
    html! {
        h3 id=(r.rule.as_str()) { (r.rule) }
        @if let Some(l) = limit { p.muted { "Limits: " (limit_text(l)) @if let Some(p) = proposed { "; proposed: " (limit_text(p)) } } }
        table {
            tr { th.l { "label" } th { "fail" } th { "uncertain" } th { "pass" } }
            tr { td.l { "breaks the rule" } (counts(&r.broken)) }
            tr { td.l { "keeps the rule" } (counts(&r.kept)) }
        }
        p {
            "precision " (opt_pct(r.precision)) ", recall " (opt_pct(r.recall)) ", flagged recall "
            span class=(if r.flagged_recall.is_some_and(|v| v < 1.0) { "bad" } else { "" }) { (opt_pct(r.flagged_recall)) }
        }
        div.plots {
            @if let Some(l) = limit {
                @if !(r.values_kept.is_empty() && r.values_broken.is_empty()) {
                    div { (PreEscaped(plots::histogram(r, l, proposed))) }
                }
            }
            @for s in sweeps { div { (PreEscaped(plots::sweep(s))) } }
        }
    }
}
