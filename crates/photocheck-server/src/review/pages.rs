//! The reviewer pages, in Chinese, as HTML built with maud (every value escaped). Times are shown in
//! the calendar's zone. The pages work without a mouse: `assets/review.js` binds the keys shown on
//! them.

use axum::response::Html;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use maud::{html, Markup, DOCTYPE};
use photocheck_core::RuleInfo as _;
use photocheck_core::{Report, RuleId, Status};
use photocheck_store::{AuditEntry, Channel, ReviewItem, Role, Submission};
use photocheck_types::reviewer::REASONS;
use photocheck_types::Decision;

use super::auth::{Session, CSRF_FIELD};
use super::charts;
use super::stats::Stats;

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

/// How the photo reached the upload, in the reviewer's words.
fn channel_zh(c: Channel) -> &'static str {
    match c {
        Channel::Camera => "现场拍照",
        Channel::Album => "相册上传",
        Channel::Stored => "已存档照片",
    }
}

/// What the reviewer narrowed the queue to (`/review?rule=eyes_open&channel=camera`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// Items the engine gave a reason under this rule.
    pub rule: Option<RuleId>,
    pub channel: Option<Channel>,
}

impl QueueFilter {
    fn keeps(&self, i: &ReviewItem) -> bool {
        self.channel.is_none_or(|c| c == i.channel)
            && self
                .rule
                .is_none_or(|rule| i.engine_reasons.iter().any(|r| r.rule == rule))
    }
}

/// Due before the end of the reviewer's day (overdue ones included): what must be done today.
fn due_today(i: &ReviewItem, now: DateTime<Utc>, zone: FixedOffset) -> bool {
    i.due_at.with_timezone(&zone).date_naive() <= now.with_timezone(&zone).date_naive()
}

pub fn queue_page(
    account: &Session,
    items: &[ReviewItem],
    filter: &QueueFilter,
    now: DateTime<Utc>,
    zone: FixedOffset,
    notice: Option<&str>,
) -> Markup {
    let today = items.iter().filter(|i| due_today(i, now, zone)).count();
    let overdue = items.iter().filter(|i| i.due_at < now).count();
    let shown: Vec<&ReviewItem> = items.iter().filter(|i| filter.keeps(i)).collect();
    let selected = |on: bool| if on { Some("selected") } else { None };
    layout(
        "审核队列",
        Some(account),
        html! {
            div.queue-head {
                h1 { "审核队列 " span.count { "(" (items.len()) ")" } }
                p #due-today class=(if overdue > 0 { "overdue" } else { "" }) {
                    "今日到期 " strong { (today) } " 项"
                    @if overdue > 0 { "，其中已超时 " strong { (overdue) } " 项" }
                }
                form method="post" action="/review/next" {
                    (csrf(&account.csrf))
                    button #next type="submit" { "领取下一项 " kbd { "N" } }
                }
                form.filters #filters method="get" action="/review" {
                    label { "原因 "
                        select name="rule" {
                            option value="" selected=[selected(filter.rule.is_none())] { "全部" }
                            @for (rule, n) in super::stats::rules_of_open(items) {
                                option value=(rule.as_str()) selected=[selected(filter.rule == Some(rule))] { (rule_zh(rule)) "（" (n) "）" }
                            }
                        }
                    }
                    label { " 渠道 "
                        select name="channel" {
                            option value="" selected=[selected(filter.channel.is_none())] { "全部" }
                            @for c in [Channel::Camera, Channel::Album, Channel::Stored] {
                                option value=(c.as_str()) selected=[selected(filter.channel == Some(c))] { (channel_zh(c)) }
                            }
                        }
                    }
                    " " button type="submit" { "筛选" }
                    @if *filter != QueueFilter::default() {
                        " " a #clear-filters href="/review" { "清除筛选" }
                        " " span.count #shown { "显示 " (shown.len()) " / " (items.len()) " 项" }
                    }
                }
            }
            @if let Some(n) = notice { p.notice role="status" { (n) } }
            @if items.is_empty() {
                p.empty { "队列为空。" }
            } @else if shown.is_empty() {
                p.empty { "没有符合筛选条件的项目。" }
            } @else {
                table.queue {
                    thead { tr { th { "剩余时间" } th { "截止" } th { "申请人" } th { "渠道" } th { "主要原因" } th { "处理人" } } }
                    tbody {
                        @for i in &shown {
                            @let overdue = i.due_at < now;
                            @let all: Vec<&str> = i.engine_reasons.iter().map(|r| r.message_zh.as_str()).collect();
                            tr class=(if overdue { "overdue" } else { "" }) {
                                td.left { (time_left(i.due_at, now)) }
                                td { (local(i.due_at, zone)) }
                                td {
                                    a href=(format!("/review/items/{}", i.submission_id)) { (i.applicant_id) }
                                    @if i.audit { " " span.badge.audit title="自动通过的照片抽检" { "抽检" } }
                                }
                                td { (channel_zh(i.channel)) }
                                td.reason title=(all.join("；")) {
                                    @match all.first() {
                                        Some(top) => {
                                            (top)
                                            @if all.len() > 1 { " " span.more { "+" (all.len() - 1) } }
                                        },
                                        None => "—",
                                    }
                                }
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

/// A rule's unit in the reviewer's words (the report's own unit is the cell's tooltip).
fn unit_zh(unit: &str) -> &str {
    match unit {
        "mm" => "毫米",
        "px" => "像素",
        // Pixels of the photo scaled to the archive height (378 px).
        "px@ref" => "像素（按378像素高）",
        "deltaE" => "色差ΔE",
        "luma" => "亮度",
        "chroma" => "色度",
        "ratio" => "比值",
        "faces" => "张",
        "days" => "天",
        "deg" => "度",
        "eye-widths" => "倍眼宽",
        "laplacian-var" => "清晰度值",
        "tag" => "",
        other => other,
    }
}

/// Failed rules, then uncertain ones, then those that passed: what a reviewer decides on first.
fn failed_first(rules: &[photocheck_core::RuleResult]) -> Vec<&photocheck_core::RuleResult> {
    let rank = |s: Status| match s {
        Status::Fail => 0,
        Status::Uncertain => 1,
        Status::Pass => 2,
    };
    let mut sorted: Vec<_> = rules.iter().collect();
    // Stable: within a status, report order.
    sorted.sort_by_key(|r| rank(r.status));
    sorted
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
                    // The real-size photo with the overlay switches under it, beside the enlarged
                    // photo: all of it above the decision bar on a 768 px screen.
                    div.real-column {
                        @if v.report.is_some_and(Report::framed) {
                            figure #framed {
                                img.real src=(format!("/review/items/{id}/framed.jpg")) alt="裁剪后的照片（实际尺寸）";
                                figcaption title="裁剪后的照片即存档照片，22×32 mm 按实际尺寸显示；右图粉色框为它在上传照片中的裁剪范围" { "存档照片，实际尺寸；右图粉框为裁剪范围" }
                            }
                        } @else {
                            figure {
                                img.real src=(photo) alt="照片（实际尺寸）";
                                figcaption { "实际尺寸 22×32 mm" }
                            }
                        }
                        div.keys #overlays {
                            span.all { "叠加层：" }
                            button type="button" data-toggle="ov-mask" title="背景区域" { kbd { "B" } " 背景" }
                            button type="button" data-toggle="ov-face" title="人脸框" { kbd { "F" } " 人脸" }
                            button type="button" data-toggle="ov-lines" title="头顶线与下巴线" { kbd { "C" } " 头顶" }
                            button type="button" data-toggle="ov-band" title="下巴允许范围（头部长度合格时下巴所在的范围）" { kbd { "H" } " 下巴" }
                            button type="button" data-toggle="ov-centre" title="照片中线与头部中线" { kbd { "M" } " 中线" }
                        }
                    }
                    figure.enlarged {
                        (stage(v, &photo, &mask))
                    }
                }
                section.facts {
                    @if let Some(r) = v.report {
                        table.rules {
                            thead { tr { th { "项目" } th { "测量值" } th { "要求" } th { "结果" } } }
                            tbody {
                                @for rule in failed_first(&r.rules) {
                                    @let (label, class) = status_zh(rule.status);
                                    tr class=(class) {
                                        td title=(rule.rule.as_str()) { (rule_zh(rule.rule)) }
                                        td title=(rule.unit) { (rule.value.map(num).unwrap_or_else(|| "—".into())) " " (unit_zh(&rule.unit)) }
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
                            label title=(r.zh) {
                                input type="checkbox" name="reason" value=(r.code) data-key=(r.key);
                                kbd { (r.key.to_ascii_uppercase()) } " " (r.zh)
                            }
                        }
                    }
                    div.bar {
                        div.actions {
                            button #approve type="submit" name="decision" value="approve" { "通过 " kbd { "A" } }
                            button #reject type="submit" name="decision" value="reject" { "退回 " kbd { "R" } }
                            button #skip type="submit" formaction=(format!("/review/items/{id}/skip")) formnovalidate { "跳过 " kbd { "N" } }
                        }
                        label.note { "备注 " textarea name="note" rows="1" {} }
                        p #hint.hint role="alert" {}
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
    now: DateTime<Utc>,
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
            @if s.overdue > 0 {
                p.warning #overdue-alert role="alert" { "已有 " (s.overdue) " 件超时，请优先处理。" }
            }
            @if let Some(f) = &s.shortfall {
                p.warning #shortfall role="alert" {
                    "按当前速度（每小时 " (format!("{:.1}", s.team_per_hour)) " 件）无法按时完成："
                    "截止 " (local(f.due_at, zone)) " 前需完成 " (f.items_before) " 件（含已超时），约需 "
                    (format!("{:.1}", f.hours_needed)) " 个办公小时（只计工作日办公时间）。"
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
            h2 { "积压与处理能力" }
            (backlog_chart(s, zone))
            @if !s.open_reasons.is_empty() {
                h2 { "待审核项目的主要原因" }
                (charts::rows(
                    "open-reasons",
                    "待审核项目按引擎给出原因的检查项统计件数（一件可涉及多项）",
                    &s.open_reasons
                        .iter()
                        .map(|&(rule, n)| charts::Bar {
                            label: rule_zh(rule).to_owned(),
                            value: n as f64,
                            class: "reason",
                            title: format!("{}（{rule}）：{n} 件", rule_zh(rule)),
                        })
                        .collect::<Vec<_>>(),
                ))
            }
            h2 { "近7天收到的照片与引擎判断" }
            (intake_chart(&s.activity, now, zone))
            (shares_chart(&s.activity, now, zone))
            h2 { "抽检退回原因（近7天）" }
            @if s.audit_rejects_by_reason.is_empty() {
                p #audit-reasons-none { "近7天抽检中没有被退回的自动通过照片。" }
            } @else {
                p.hint { "自动通过后经抽检被退回的照片，按退回原因统计。某一原因反复出现时，请提高抽检比例，或在配置中将该项设为人工审核。" }
                (charts::rows(
                    "audit-error-rate",
                    &format!("各退回原因占近7天抽检件数（{} 件）的百分比", s.audits_reviewed),
                    &s.audit_rejects_by_reason
                        .iter()
                        .map(|(code, n)| {
                            let share = *n as f64 * 100.0 / s.audits_reviewed.max(1) as f64;
                            charts::Bar {
                                label: reason_zh(code).to_owned(),
                                value: (share * 10.0).round() / 10.0,
                                class: "rejected",
                                title: format!("{}（{code}）：{n} 件，占抽检 {share:.1}%", reason_zh(code)),
                            }
                        })
                        .collect::<Vec<_>>(),
                ))
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

/// What must be done by each coming hour (bars: the items due by then, the overdue ones included)
/// against what the team clears by then at its recent pace (the dashed line, rising only in office
/// hours): a red bar is an hour by which the team runs out of time.
fn backlog_chart(s: &Stats, zone: FixedOffset) -> Markup {
    use chrono::Timelike;
    let p = &s.backlog;
    let pace = (s.team_per_hour > 0.0).then_some(s.team_per_hour);
    let mut bars = vec![charts::Bar {
        label: "已超时".into(),
        value: p.overdue as f64,
        class: if p.overdue > 0 { "overdue" } else { "due" },
        title: format!("已超时：{} 件", p.overdue),
    }];
    let mut capacity = vec![0.0];
    for h in &p.hours {
        let local = h.end.with_timezone(&zone);
        let can = pace.map(|pace| pace * h.office_hours);
        capacity.push(can.unwrap_or(0.0));
        bars.push(charts::Bar {
            label: match local.hour() {
                0 => local.format("%m-%d").to_string(),
                6 | 12 | 18 => local.format("%H:%M").to_string(),
                _ => String::new(),
            },
            value: h.due_by_then as f64,
            class: if h.late { "overdue" } else { "due" },
            title: match can {
                Some(c) => format!(
                    "{} 前到期共 {} 件；按当前速度可完成约 {c:.0} 件{}",
                    local.format("%m-%d %H:%M"),
                    h.due_by_then,
                    if h.late {
                        "；此小时内有项目来不及"
                    } else {
                        ""
                    }
                ),
                None => format!(
                    "{} 前到期共 {} 件",
                    local.format("%m-%d %H:%M"),
                    h.due_by_then
                ),
            },
        });
    }
    // The same first late item as the alarm above the numbers.
    let runs_out = s.shortfall.as_ref().map(|f| {
        format!(
            "按此速度，{} 到期的项目将来不及（红色柱）",
            f.due_at.with_timezone(&zone).format("%m-%d %H:%M")
        )
    });
    let later = if p.later > 0 {
        let horizon = p.hours.last().map_or(String::new(), |h| {
            h.end.with_timezone(&zone).format("%m-%d %H:%M").to_string()
        });
        format!("另有 {} 件在 {horizon} 之后到期。", p.later)
    } else {
        String::new()
    };
    let overdue = if p.overdue > 0 {
        format!("已有 {} 件超时。", p.overdue)
    } else {
        String::new()
    };
    let caption = match pace {
        None => format!(
            "柱：到各时刻为止应完成的件数（含已超时）。{overdue}最近1小时无人审核，处理能力未知。{later}"
        ),
        Some(pace) => format!(
            "柱：到各时刻为止应完成的件数（含已超时）；虚线：按最近1小时速度（每小时 {pace:.1} 件），只计工作日办公时间，到该时刻能完成的件数。{overdue}{}。{later}",
            runs_out.as_deref().unwrap_or("按此速度，其余项目都能按时完成")
        ),
    };
    let line = pace.map(|_| charts::Series {
        values: capacity,
        class: "capacity",
    });
    charts::bars("backlog", &caption, &bars, line.as_ref())
}

/// The last 7 days hour by hour (local time): photos received per hour; the tooltip adds what the
/// engine decided in that hour.
fn intake_chart(
    activity: &[photocheck_store::HourActivity],
    now: DateTime<Utc>,
    zone: FixedOffset,
) -> Markup {
    use chrono::{DurationRound, Timelike};
    let hours = super::ACTIVITY_DAYS * 24;
    let current = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    let by_hour: std::collections::HashMap<DateTime<Utc>, &photocheck_store::HourActivity> =
        activity.iter().map(|h| (h.hour, h)).collect();
    let mut decisions = Vec::new();
    let bars: Vec<charts::Bar> = (0..hours)
        .rev()
        .map(|k| {
            let hour = current - Duration::hours(k);
            let local = hour.with_timezone(&zone);
            let (received, decided) = by_hour
                .get(&hour)
                .map_or((0, 0), |h| (h.received, h.approved + h.review + h.rejected));
            decisions.push(decided as f64);
            charts::Bar {
                label: if local.hour() == 0 {
                    local.format("%m-%d").to_string()
                } else {
                    String::new()
                },
                value: received as f64,
                class: "intake",
                title: format!(
                    "{}:00 收到 {received} 件，引擎判断 {decided} 件",
                    local.format("%m-%d %H")
                ),
            }
        })
        .collect();
    let total: u64 = activity.iter().map(|h| h.received).sum();
    let decided: u64 = activity
        .iter()
        .map(|h| h.approved + h.review + h.rejected)
        .sum();
    charts::bars(
        "intake",
        &format!(
            "柱：每小时收到的照片（近7天共 {total} 件）；折线：每小时引擎判断的件数（共 {decided} 件）"
        ),
        &bars,
        Some(&charts::Series {
            values: decisions,
            class: "decided",
        }),
    )
}

/// The engine's decisions per local day over the last 7 days, as shares: how much it approved on
/// its own, sent to review and rejected.
fn shares_chart(
    activity: &[photocheck_store::HourActivity],
    now: DateTime<Utc>,
    zone: FixedOffset,
) -> Markup {
    let today = now.with_timezone(&zone).date_naive();
    let columns: Vec<charts::Column> = (0..super::ACTIVITY_DAYS)
        .rev()
        .map(|k| {
            let day = today - Duration::days(k);
            let of_day = activity
                .iter()
                .filter(|h| h.hour.with_timezone(&zone).date_naive() == day);
            let (mut approved, mut review, mut rejected) = (0u64, 0u64, 0u64);
            for h in of_day {
                approved += h.approved;
                review += h.review;
                rejected += h.rejected;
            }
            let all = (approved + review + rejected).max(1) as f64;
            let part = |n: u64, class: &'static str, what: &str| charts::Bar {
                label: String::new(),
                value: n as f64,
                class,
                title: format!(
                    "{} {what} {n} 件（{:.0}%）",
                    day.format("%m-%d"),
                    n as f64 * 100.0 / all
                ),
            };
            charts::Column {
                label: day.format("%m-%d").to_string(),
                parts: vec![
                    part(approved, "approved", "自动通过"),
                    part(review, "review", "转人工审核"),
                    part(rejected, "rejected", "退回"),
                ],
            }
        })
        .collect();
    charts::shares(
        "shares",
        "每日引擎判断的构成（各日合计为100%）",
        &columns,
        &[
            ("approved", "自动通过"),
            ("review", "转人工审核"),
            ("rejected", "退回"),
        ],
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
    use photocheck_calendar::Calendar;

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
        let s = super::super::stats::compute(&[], &[], now, &Calendar::builtin());
        let end = NaiveDate::from_ymd_opt(2026, 12, 31).expect("date");
        let warned = supervisor_page(&account, &s, now, zone, Some(end)).into_string();
        assert!(warned.contains("id=\"calendar-ends\""), "{warned}");
        assert!(warned.contains("2026-12-31"), "{warned}");
        let quiet = supervisor_page(&account, &s, now, zone, None).into_string();
        assert!(!quiet.contains("calendar-ends"), "{quiet}");
    }

    #[test]
    fn with_nobody_reviewing_the_supervisor_sees_an_unknown_pace_not_an_alarm() {
        let account = supervisor();
        let zone = FixedOffset::east_opt(8 * 3600).expect("offset");
        let now = Utc::now();
        let item = super::super::stats::tests::item(300, now);
        let s = super::super::stats::compute(&[item], &[], now, &Calendar::builtin());
        let page = supervisor_page(&account, &s, now, zone, None).into_string();
        assert!(page.contains("id=\"pace-unknown\""), "{page}");
        for alarm in ["-0.0", "∞", "role=\"alert\""] {
            assert!(!page.contains(alarm), "{alarm} on the page: {page}");
        }
    }

    fn reason(code: &str, zh: &str) -> photocheck_types::Reason {
        photocheck_types::Reason {
            code: code.into(),
            rule: RuleId::Background,
            message_en: code.into(),
            message_zh: zh.into(),
        }
    }

    #[test]
    fn the_queue_shows_time_left_channel_and_top_reason_filters_and_counts_what_is_due_today() {
        let account = supervisor();
        let zone = FixedOffset::east_opt(8 * 3600).expect("offset");
        // Mid-morning, so "due today" has hours on either side.
        let now = DateTime::parse_from_rfc3339("2026-12-07T10:00:00+08:00")
            .expect("time")
            .with_timezone(&Utc);
        let item = |due_in_min, channel, reasons: Vec<photocheck_types::Reason>| ReviewItem {
            channel,
            engine_reasons: reasons,
            ..super::super::stats::tests::item(due_in_min, now)
        };
        let grey = reason("background-not-white", "背景不是白色");
        let eyes = photocheck_types::Reason {
            rule: RuleId::EyesOpen,
            ..reason("check-eyes-open", "需确认双眼睁开")
        };
        let items = vec![
            item(-30, Channel::Camera, vec![grey.clone(), eyes.clone()]),
            item(120, Channel::Album, vec![eyes.clone()]),
            item(60 * 20, Channel::Camera, vec![grey.clone()]),
        ];
        let all =
            queue_page(&account, &items, &QueueFilter::default(), now, zone, None).into_string();
        // Overdue and due at noon are today; due tomorrow morning is not.
        assert!(
            all.contains("今日到期 <strong>2</strong> 项，其中已超时 <strong>1</strong> 项"),
            "{all}"
        );
        assert_eq!(all.matches("<tr class=").count(), 3, "{all}");
        assert!(
            all.contains("已超时 30分") && all.contains("2小时0分"),
            "{all}"
        );
        assert!(
            all.contains("现场拍照") && all.contains("相册上传"),
            "{all}"
        );
        // The top reason shows, the rest are counted and in the tooltip.
        assert!(
            all.contains("title=\"背景不是白色；需确认双眼睁开\">背景不是白色 <span class=\"more\">+1</span>"),
            "{all}"
        );
        // The reason filter offers the rules present, by their Chinese names, with counts.
        let grey_at = all.find("背景白色（2）").expect("background offered");
        let eyes_at = all.find("睁眼（2）").expect("eyes offered");
        assert!(
            grey_at < eyes_at,
            "ties in report order: background before eyes"
        );

        let filtered = queue_page(
            &account,
            &items,
            &QueueFilter {
                rule: Some(RuleId::Background),
                channel: Some(Channel::Camera),
            },
            now,
            zone,
            None,
        )
        .into_string();
        assert_eq!(filtered.matches("<tr class=").count(), 2, "{filtered}");
        assert!(filtered.contains("显示 2 / 3 项"), "{filtered}");
        assert!(
            filtered.contains("今日到期 <strong>2</strong>"),
            "counts are of the whole queue"
        );
        let none = queue_page(
            &account,
            &items,
            &QueueFilter {
                rule: None,
                channel: Some(Channel::Stored),
            },
            now,
            zone,
            None,
        )
        .into_string();
        assert!(none.contains("没有符合筛选条件的项目"), "{none}");
    }

    #[test]
    fn the_supervisor_sees_the_backlog_hour_by_hour_against_the_pace_and_the_open_reasons() {
        let account = supervisor();
        let zone = FixedOffset::east_opt(8 * 3600).expect("offset");
        let now = DateTime::parse_from_rfc3339("2026-12-07T10:00:00+08:00")
            .expect("time")
            .with_timezone(&Utc);
        let due = |min| super::super::stats::tests::item(min, now);
        let calendar = Calendar::builtin();
        let grey = reason("background-not-white", "背景不是白色");
        // 2 overdue, 3 today, 1 tomorrow, 1 in ten days.
        let mut open: Vec<ReviewItem> = [-90, -5, 30, 60, 300, 60 * 24, 60 * 24 * 10]
            .into_iter()
            .map(due)
            .collect();
        open.sort_by_key(|i| i.due_at);
        open[0].engine_reasons = vec![grey.clone()];
        open[3].engine_reasons = vec![grey.clone()];
        let quiet = super::super::stats::compute(&open, &[], now, &calendar);
        let page = supervisor_page(&account, &quiet, now, zone, None).into_string();
        let backlog = &page[page.find("id=\"backlog\"").expect("the backlog chart")..];
        let backlog = &backlog[..backlog.find("</svg>").expect("its end")];
        // The overdue, then every hour to tomorrow's 10:00 deadline; the one in ten days is later.
        assert_eq!(
            backlog.matches("<rect class=\"bar").count(),
            1 + 24,
            "{backlog}"
        );
        for title in [
            "已超时：2 件",
            "12-07 11:00 前到期共 4 件",
            "12-07 15:00 前到期共 5 件",
            "12-08 10:00 前到期共 6 件",
        ] {
            assert!(
                backlog.contains(&format!("<title>{title}</title>")),
                "{title}: {backlog}"
            );
        }
        assert!(page.contains("另有 1 件在 12-08 10:00 之后到期"), "{page}");
        assert!(!backlog.contains("polyline"), "no pace, no capacity line");
        assert!(page.contains("处理能力未知"), "{page}");
        assert!(page.contains("id=\"open-reasons\""), "{page}");
        assert!(
            page.contains("<title>背景白色（background）：2 件</title>"),
            "{page}"
        );
        for broken in ["-0.0", "∞", "NaN"] {
            assert!(!page.contains(broken), "{broken} on the page");
        }

        // Two decisions in the last hour: 2 an hour, in office hours, drawn as the line.
        let decided: Vec<ReviewItem> = (0..2)
            .map(|k| ReviewItem {
                reviewed: Some(photocheck_store::ReviewerDecision {
                    decision: Decision::Approve,
                    reasons: Vec::new(),
                    note: None,
                    decided_by: "anna".into(),
                    decided_at: now - Duration::minutes(10 + k),
                }),
                ..due(60)
            })
            .collect();
        let busy = super::super::stats::compute(&open, &decided, now, &calendar);
        let page = supervisor_page(&account, &busy, now, zone, None).into_string();
        assert!(
            page.contains("<title>12-07 11:00 前到期共 4 件；按当前速度可完成约 2 件；此小时内有项目来不及</title>"),
            "{page}"
        );
        assert!(
            page.contains("12-08 10:00 前到期共 6 件；按当前速度可完成约 17 件"),
            "{page}"
        );
        // Two overdue and two due by 11:00 are four items for one office hour at two an hour.
        assert!(
            page.contains("已有 2 件超时。按此速度，12-07 10:30 到期的项目将来不及"),
            "{page}"
        );
        // Without the overdue ones all is well; ten more due at noon are not: 12 items by 12:00
        // and two office hours at two an hour.
        let clear = super::super::stats::compute(&open[2..], &decided, now, &calendar);
        let page = supervisor_page(&account, &clear, now, zone, None).into_string();
        assert!(page.contains("按此速度，其余项目都能按时完成"), "{page}");
        assert!(!page.contains("件超时"), "{page}");
        let mut crowded = open[2..].to_vec();
        crowded.extend((0..10).map(|_| due(120)));
        crowded.sort_by_key(|i| i.due_at);
        let late = super::super::stats::compute(&crowded, &decided, now, &calendar);
        let page = supervisor_page(&account, &late, now, zone, None).into_string();
        assert!(
            page.contains("按此速度，12-07 12:00 到期的项目将来不及（红色柱）"),
            "{page}"
        );

        // A week of hours, and the engine's decisions of two days as shares of each day.
        let hour = |h: i64, received, approved, review, rejected| photocheck_store::HourActivity {
            hour: now - Duration::hours(h),
            received,
            approved,
            review,
            rejected,
        };
        let mut with_activity = busy.clone();
        with_activity.activity = vec![hour(30, 4, 1, 2, 1), hour(2, 6, 3, 3, 0)];
        // One of four audited approvals rejected for its background: a 25 % error rate there.
        with_activity.audits_reviewed = 4;
        with_activity.audits_rejected = 1;
        with_activity.audit_rejects_by_reason = [("background-not-white".to_owned(), 1)].into();
        let page = supervisor_page(&account, &with_activity, now, zone, None).into_string();
        let intake = &page[page.find("id=\"intake\"").expect("the intake chart")..];
        let intake = &intake[..intake.find("</svg>").expect("its end")];
        assert_eq!(
            intake.matches("<rect class=\"bar").count(),
            7 * 24,
            "an hour a bar"
        );
        assert!(
            intake.contains("<title>12-07 08:00 收到 6 件，引擎判断 6 件</title>"),
            "{intake}"
        );
        assert!(page.contains("近7天共 10 件"), "{page}");
        assert!(
            page.contains(
                "<title>背景不是白色（background-not-white）：1 件，占抽检 25.0%</title>"
            ),
            "{page}"
        );
        assert!(page.contains("共 10 件）"), "decisions counted: {page}");
        let line = &intake[intake.find("<polyline").expect("the decisions line")..];
        assert_eq!(
            line[..line.find("</polyline>").expect("its end")]
                .matches(',')
                .count(),
            7 * 24,
            "a point an hour"
        );
        let shares = &page[page.find("id=\"shares\"").expect("the shares chart")..];
        let shares = &shares[..shares.find("</svg>").expect("its end")];
        // Two days with decisions, three parts each (a zero part is drawn with no height).
        assert_eq!(shares.matches("<rect class=\"bar").count(), 6, "{shares}");
        assert!(
            shares.contains("<title>12-06 转人工审核 2 件（50%）</title>"),
            "{shares}"
        );
        assert!(
            shares.contains("<title>12-07 自动通过 3 件（50%）</title>"),
            "{shares}"
        );
        assert!(page.contains("class=\"series capacity\""), "{page}");
    }
}
