//! The reviewer pages, in Chinese, as HTML built with maud (every value escaped). Times are shown in
//! the calendar's zone. The pages work without a mouse: `assets/review.js` binds the keys shown on
//! them.

use axum::response::Html;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use maud::{html, Markup, DOCTYPE};
use photocheck_core::RuleInfo as _;
use photocheck_core::{Report, RuleId, Status};
use photocheck_store::{AuditEntry, ReviewItem, Role, Submission};

use super::auth::{Session, CSRF_FIELD};
use super::stats::Stats;
use photocheck_types::reviewer::REASONS;
use photocheck_types::{Decision, Reason};

/// The hidden field that proves a form came from this site's page.
fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

fn layout(title: &str, account: Option<&Session>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · 照片审核" }
                link rel="stylesheet" href="/review/assets/review.css";
            }
            body {
                header.top {
                    a.brand href="/review" { "驾驶证照片审核" }
                    @if let Some(a) = account {
                        nav {
                            a href="/review" { "审核队列" }
                            @if a.role == Role::Supervisor {
                                a href="/supervisor" { "主管视图" }
                                a href="/supervisor/audit" { "操作日志" }
                            }
                            span.who { (a.name) " · " (role_zh(a.role)) }
                            form.inline method="post" action="/logout" {
                                (csrf(&a.csrf))
                                button type="submit" { "退出" }
                            }
                        }
                    }
                }
                main { (body) }
                script src="/review/assets/review.js" {}
            }
        }
    }
}

fn role_zh(role: Role) -> &'static str {
    match role {
        Role::Reviewer => "审核员",
        Role::Supervisor => "主管",
    }
}

pub fn message_page(title: &str, text: &str) -> Html<String> {
    Html(
        layout(
            title,
            None,
            html! { h1 { (title) } p { (text) } p { a href="/review" { "返回" } } },
        )
        .into_string(),
    )
}

pub fn login_page(error: Option<&str>, next: &str, token: &str) -> Markup {
    layout(
        "登录",
        None,
        html! {
            h1 { "登录" }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form.login method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                (csrf(token))
                label { "用户名" input #name type="text" name="name" autocomplete="username" autofocus required; }
                label { "密码" input #password type="password" name="password" autocomplete="current-password" required; }
                button type="submit" { "登录" }
            }
        },
    )
}

pub fn local(t: DateTime<Utc>, zone: FixedOffset) -> String {
    t.with_timezone(&zone).format("%m-%d %H:%M").to_string()
}

/// "3小时12分" left, or "已超时 25分".
pub fn time_left(due: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let span = |d: Duration| {
        let m = d.num_minutes().abs();
        match (m / 60, m % 60) {
            (0, m) => format!("{m}分"),
            (h, m) if h < 48 => format!("{h}小时{m}分"),
            (h, _) => format!("{}天{}小时", h / 24, h % 24),
        }
    };
    if due < now {
        format!("已超时 {}", span(now - due))
    } else {
        span(due - now)
    }
}

fn reason_codes(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(|r| r.message_zh.as_str())
        .collect::<Vec<_>>()
        .join("；")
}

pub fn queue_page(
    account: &Session,
    items: &[ReviewItem],
    now: DateTime<Utc>,
    zone: FixedOffset,
    notice: Option<&str>,
) -> Markup {
    layout(
        "审核队列",
        Some(account),
        html! {
            h1 { "审核队列 " span.count { "(" (items.len()) ")" } }
            @if let Some(n) = notice { p.notice role="status" { (n) } }
            form method="post" action="/review/next" {
                (csrf(&account.csrf))
                button #next type="submit" { "领取下一项 " kbd { "N" } }
            }
            @if items.is_empty() {
                p.empty { "队列为空。" }
            } @else {
                table.queue {
                    thead { tr { th { "截止时间" } th { "剩余" } th { "申请人" } th { "引擎判断" } th { "处理人" } } }
                    tbody {
                        @for i in items {
                            @let overdue = i.due_at < now;
                            tr class=(if overdue { "overdue" } else { "" }) {
                                td { (local(i.due_at, zone)) }
                                td.left { (time_left(i.due_at, now)) }
                                td {
                                    a href=(format!("/review/items/{}", i.submission_id)) { (i.applicant_id) }
                                    @if i.audit { " " span.badge.audit { "抽检" } }
                                }
                                td { (reason_codes(&i.engine_reasons)) }
                                td {
                                    @match i.held_by_other(&account.name, now) {
                                        Some(who) => { (who) }
                                        None => @if i.claimed_by.as_deref() == Some(account.name.as_str()) { "我" } @else { "—" },
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// What the item page shows.
pub struct ItemView<'a> {
    pub session: &'a Session,
    pub item: &'a ReviewItem,
    pub submission: &'a Submission,
    pub report: Option<&'a Report>,
    pub history: &'a [Submission],
    /// The reviewer holds the claim and may decide.
    pub mine: bool,
    pub notice: Option<&'a str>,
    pub now: DateTime<Utc>,
    pub zone: FixedOffset,
    /// The deadline counts only weekends and fixed-date holidays: its year is not in the calendar file.
    pub due_provisional: bool,
    /// Head length limits, mm (the allowed band).
    pub head_mm: (f64, f64),
}

/// A reviewer's rejection reason in words, or its code when it is not one of today's reasons.
fn reason_zh(code: &str) -> &str {
    REASONS
        .iter()
        .find(|r| r.code == code)
        .map_or(code, |r| r.zh)
}

fn rule_zh(id: RuleId) -> &'static str {
    id.spec().name_zh
}

fn status_zh(s: Status) -> (&'static str, &'static str) {
    match s {
        Status::Pass => ("合格", "pass"),
        Status::Uncertain => ("待定", "uncertain"),
        Status::Fail => ("不合格", "fail"),
    }
}

fn decision_zh(d: Option<Decision>) -> &'static str {
    match d {
        Some(Decision::Approve) => "通过",
        Some(Decision::Reject) => "退回",
        Some(Decision::Review) => "待审核",
        None => "未判定",
    }
}

fn num(v: f64) -> String {
    photocheck_core::messages::format_number(v, 2)
}

/// The enlarged photo with its overlays in one SVG, so every line sits on the pixel the engine
/// measured whatever the display size: the viewBox is the photo's own pixel grid.
fn stage(v: &ItemView<'_>, photo: &str, mask: &str) -> Markup {
    let Some(r) = v.report.filter(|r| r.width > 0 && r.height > 0) else {
        return html! { img.plain src=(photo) alt="照片（放大）"; };
    };
    let (w, h) = (f64::from(r.width), f64::from(r.height));
    // The judged photo within the upload: the crop when framed. Its height is what mm are of, and
    // the background mask covers it alone.
    let c = r
        .framing
        .as_ref()
        .map_or(photocheck_core::Crop::whole(r.width, r.height), |f| f.crop);
    let px_per_mm = c.h / 32.0;
    html! {
        svg.stage viewBox=(format!("0 0 {w} {h}")) role="img" aria-label="照片（放大）与叠加层" {
            image href=(photo) x="0" y="0" width=(w) height=(h) preserveAspectRatio="none" {}
            image #ov-mask href=(mask) x=(c.x) y=(c.y) width=(c.w) height=(c.h) preserveAspectRatio="none" class="mask" hidden {}
            @if r.framed() {
                g #ov-crop { rect x=(c.x) y=(c.y) width=(c.w) height=(c.h) class="crop" {} }
            }
            g #ov-centre {
                line x1=(c.x + c.w / 2.0) y1=(c.y) x2=(c.x + c.w / 2.0) y2=(c.y + c.h) class="centre" {}
                @if let Some(head) = &r.head {
                    line x1=(head.centre_x) y1="0" x2=(head.centre_x) y2=(h) class="head-centre" {}
                }
            }
            @if let Some(f) = &r.face {
                g #ov-face { rect x=(f.x) y=(f.y) width=(f.w) height=(f.h) class="face" {} }
            }
            @if let Some(head) = &r.head {
                g #ov-band {
                    rect x=(c.x) y=(head.crown_y + v.head_mm.0 * px_per_mm) width=(c.w)
                        height=((v.head_mm.1 - v.head_mm.0) * px_per_mm) class="band" {}
                }
                g #ov-lines {
                    line x1=(head.left_x) y1=(head.crown_y) x2=(head.right_x) y2=(head.crown_y) class="crown" {}
                    line x1=(head.left_x) y1=(head.chin_y) x2=(head.right_x) y2=(head.chin_y) class="chin" {}
                }
            }
        }
    }
}

pub fn item_page(v: &ItemView<'_>) -> Markup {
    let id = v.item.submission_id;
    let photo = format!("/review/items/{id}/photo");
    let mask = format!("/review/items/{id}/mask.png");
    layout(
        "审核",
        Some(v.session),
        html! {
            div.item-head {
                h1 { "申请人 " (v.submission.applicant_id) }
                @if v.item.audit { span.badge.audit title="自动通过的照片抽检" { "抽检" } }
                p.due class=(if v.item.due_at < v.now { "overdue" } else { "" }) {
                    "截止 " (local(v.item.due_at, v.zone)) "（" (time_left(v.item.due_at, v.now)) "）"
                    @if v.due_provisional { span.provisional #due-provisional title="日历文件缺少该年份的节假日安排，此截止时间仅按周末和固定日期法定节假日计算" { "（暂定）" } }
                    " · 收到 " (local(v.submission.received_at, v.zone))
                    " · 引擎判断：" (decision_zh(Some(v.item.engine_decision)))
                }
                ul.why {
                    @for r in &v.item.engine_reasons {
                        li title=(r.code) { (r.message_zh) }
                    }
                }
                @if let Some(n) = v.notice { p.notice role="status" { (n) } }
            }
            div.item {
                section.photos {
                    @if v.report.is_some_and(Report::framed) {
                        figure #framed {
                            img.real src=(format!("/review/items/{id}/framed.jpg")) alt="裁剪后的照片（实际尺寸）";
                            figcaption { "裁剪后 · 实际尺寸 22×32 mm（即存档照片）；右图粉色框为裁剪范围" }
                        }
                    } @else {
                        figure {
                            img.real src=(photo) alt="照片（实际尺寸）";
                            figcaption { "实际尺寸 22×32 mm" }
                        }
                    }
                    figure.enlarged {
                        (stage(v, &photo, &mask))
                        figcaption.keys {
                            "叠加层："
                            button type="button" data-toggle="ov-mask" { kbd { "B" } " 背景" }
                            button type="button" data-toggle="ov-face" { kbd { "F" } " 人脸框" }
                            button type="button" data-toggle="ov-lines" { kbd { "C" } " 头顶/下巴线" }
                            button type="button" data-toggle="ov-band" { kbd { "H" } " 下巴允许范围" }
                            button type="button" data-toggle="ov-centre" { kbd { "M" } " 中线" }
                        }
                    }
                }
                section.facts {
                    @if let Some(r) = v.report {
                        table.rules {
                            thead { tr { th { "项目" } th { "测量值" } th { "要求" } th { "结果" } } }
                            tbody {
                                @for rule in &r.rules {
                                    @let (label, class) = status_zh(rule.status);
                                    tr class=(class) {
                                        td { (rule_zh(rule.rule)) }
                                        td { (rule.value.map(num).unwrap_or_else(|| "—".into())) " " (rule.unit) }
                                        td {
                                            @match (rule.min, rule.max) {
                                                (Some(lo), Some(hi)) => { (num(lo)) "–" (num(hi)) }
                                                (Some(lo), None) => { "≥ " (num(lo)) }
                                                (None, Some(hi)) => { "≤ " (num(hi)) }
                                                (None, None) => { "—" }
                                            }
                                        }
                                        td.status { (label) }
                                    }
                                }
                            }
                        }
                        h2 { "EXIF" }
                        dl.exif {
                            dt { "拍摄时间" } dd { (r.exif.captured.map(|t| t.to_string()).unwrap_or_else(|| "无".into())) }
                            dt { "软件" } dd { (r.exif.software.clone().unwrap_or_else(|| "无".into())) }
                            dt { "方向" } dd { (r.exif.orientation.map(|o| o.to_string()).unwrap_or_else(|| "无".into())) }
                            dt { "尺寸" } dd { (r.width) "×" (r.height) " px" }
                        }
                    } @else {
                        p { "没有检测报告。" }
                    }
                    h2 { "此前提交" }
                    @if v.history.is_empty() {
                        p { "无" }
                    } @else {
                        ul.history {
                            @for s in v.history {
                                li { (local(s.received_at, v.zone)) " · " (decision_zh(s.final_decision())) }
                            }
                        }
                    }
                }
            }
            @if v.mine {
                form #decide.decide method="post" action=(format!("/review/items/{id}/decision")) {
                    (csrf(&v.session.csrf))
                    input #decision type="hidden" name="decision" value="";
                    fieldset.reasons {
                        legend { "退回原因（可多选）" }
                        @for r in &REASONS {
                            label {
                                input type="checkbox" name="reason" value=(r.code) data-key=(r.key);
                                kbd { (r.key.to_ascii_uppercase()) } " " (r.zh)
                            }
                        }
                    }
                    label.note { "备注 " textarea name="note" rows="2" {} }
                    p #hint.hint role="alert" {}
                    div.actions {
                        button #approve type="submit" name="decision" value="approve" { "通过 " kbd { "A" } }
                        button #reject type="submit" name="decision" value="reject" { "退回 " kbd { "R" } }
                        button #skip type="submit" formaction=(format!("/review/items/{id}/skip")) formnovalidate { "跳过 " kbd { "N" } }
                    }
                }
            } @else if let Some(r) = &v.submission.reviewed {
                p.decided { "已由 " (r.decided_by) " 于 " (local(r.decided_at, v.zone)) " " (decision_zh(Some(r.decision))) }
            } @else if v.notice.is_none() {
                form.claim method="post" action=(format!("/review/items/{id}/claim")) {
                    (csrf(&v.session.csrf))
                    button #claim type="submit" { "领取此项" }
                }
            }
        },
    )
}

pub fn supervisor_page(
    account: &Session,
    s: &Stats,
    zone: FixedOffset,
    calendar_ends: Option<NaiveDate>,
) -> Markup {
    let pct = |x: Option<f64>| x.map_or("—".to_owned(), |v| format!("{:.0}%", v * 100.0));
    layout(
        "主管视图",
        Some(account),
        html! {
            h1 { "主管视图" }
            @if let Some(end) = calendar_ends {
                p.warning #calendar-ends role="alert" {
                    "工作日历数据只到 " (end.format("%Y-%m-%d")) "：之后的截止时间为暂定（仅按周末和固定日期法定节假日计算）。"
                    "请在国务院公布放假安排后，把下一年的节假日和调休上班日加入日历文件。"
                }
            }
            @if let Some(f) = &s.shortfall {
                p.warning role="alert" {
                    "按当前速度（每小时 " (format!("{:.1}", s.team_per_hour)) " 件）无法按时完成："
                    "截止 " (local(f.due_at, zone)) " 前需完成 " (f.items_before) " 件，约需 "
                    (format!("{:.1}", f.hours_needed)) " 小时。"
                }
            } @else if s.open > 0 && s.per_reviewer_per_hour.is_empty() {
                p.notice #pace-unknown role="status" {
                    "最近1小时无人审核，暂无法估计能否按时完成；最早截止 "
                    (s.earliest_due.map(|d| local(d, zone)).unwrap_or_default()) "。"
                }
            }
            dl.stats {
                dt { "待审核" } dd #open { (s.open) }
                dt { "已超时" } dd #overdue class=(if s.overdue > 0 { "overdue" } else { "" }) { (s.overdue) }
                dt { "2小时内到期" } dd #due-2h { (s.due_within_2h) }
                dt { "今日到期" } dd #due-today { (s.due_today) }
                dt { "按时审核率（近7天）" } dd #on-time { (pct(s.on_time_share())) " (" (s.on_time) "/" (s.decided) ")" }
                dt { "抽检退回率（引擎错误率）" } dd #audit-errors {
                    (pct((s.audits_reviewed > 0).then(|| s.audits_rejected as f64 / s.audits_reviewed as f64)))
                    " (" (s.audits_rejected) "/" (s.audits_reviewed) ")"
                }
            }
            h2 { "抽检退回原因（近7天）" }
            @if s.audit_rejects_by_reason.is_empty() {
                p #audit-reasons-none { "近7天抽检中没有被退回的自动通过照片。" }
            } @else {
                p.hint { "自动通过后经抽检被退回的照片，按退回原因统计。某一原因反复出现时，请提高抽检比例，或在配置中将该项设为人工审核。" }
                table.audit-reasons #audit-reasons {
                    thead { tr { th { "原因代码" } th { "原因" } th { "退回件数" } th { "占抽检" } } }
                    tbody {
                        @for (code, n) in &s.audit_rejects_by_reason {
                            tr data-code=(code) {
                                td { code { (code) } }
                                td { (reason_zh(code)) }
                                td.count { (n) }
                                td { (pct(Some(*n as f64 / s.audits_reviewed.max(1) as f64))) }
                            }
                        }
                    }
                }
            }
            h2 { "每人每小时审核量（最近1小时）" }
            table.pace {
                thead { tr { th { "审核员" } th { "件/小时" } } }
                tbody {
                    @for (who, n) in &s.per_reviewer_per_hour { tr { td { (who) } td { (format!("{n:.1}")) } } }
                    tr.total { td { "合计" } td { (format!("{:.1}", s.team_per_hour)) } }
                }
            }
        },
    )
}

pub fn audit_page(account: &Session, entries: &[AuditEntry], zone: FixedOffset) -> Markup {
    let json = |v: &Option<serde_json::Value>| v.as_ref().map_or(String::new(), |v| v.to_string());
    layout(
        "操作日志",
        Some(account),
        html! {
            h1 { "操作日志" }
            table.audit {
                thead { tr { th { "时间" } th { "操作人" } th { "操作" } th { "对象" } th { "之前" } th { "之后" } } }
                tbody {
                    @for e in entries {
                        tr {
                            td { (e.at.with_timezone(&zone).format("%Y-%m-%d %H:%M:%S")) }
                            td { (e.actor) } td { (e.action) } td { (e.subject) }
                            td { code { (json(&e.before)) } } td { code { (json(&e.after)) } }
                        }
                    }
                }
            }
        },
    )
}

/// The page CSS and script, served from memory.
pub const CSS: &str = include_str!("assets/review.css");
pub const JS: &str = include_str!("assets/review.js");

#[cfg(test)]
mod tests {
    use super::*;

    fn supervisor() -> Session {
        Session {
            account: photocheck_store::Account {
                name: "li.na".into(),
                role: Role::Supervisor,
                password_hash: String::new(),
            },
            csrf: "token".into(),
        }
    }

    #[test]
    fn the_supervisor_is_warned_before_the_calendar_runs_out() {
        let account = supervisor();
        let zone = FixedOffset::east_opt(8 * 3600).expect("offset");
        let now = Utc::now();
        let s = super::super::stats::compute(&[], &[], now, zone);
        let end = NaiveDate::from_ymd_opt(2026, 12, 31).expect("date");
        let warned = supervisor_page(&account, &s, zone, Some(end)).into_string();
        assert!(warned.contains("id=\"calendar-ends\""), "{warned}");
        assert!(warned.contains("2026-12-31"), "{warned}");
        let quiet = supervisor_page(&account, &s, zone, None).into_string();
        assert!(!quiet.contains("calendar-ends"), "{quiet}");
    }

    #[test]
    fn with_nobody_reviewing_the_supervisor_sees_an_unknown_pace_not_an_alarm() {
        let account = supervisor();
        let zone = FixedOffset::east_opt(8 * 3600).expect("offset");
        let now = Utc::now();
        let item = super::super::stats::tests::item(300, now);
        let s = super::super::stats::compute(&[item], &[], now, zone);
        let page = supervisor_page(&account, &s, zone, None).into_string();
        assert!(page.contains("id=\"pace-unknown\""), "{page}");
        for alarm in ["-0.0", "∞", "role=\"alert\""] {
            assert!(!page.contains(alarm), "{alarm} on the page: {page}");
        }
    }
}
