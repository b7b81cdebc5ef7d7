//! Page handlers. Each page is plain HTML rendered from the run records and
//! the catalogue; the script only refreshes the progress panel.

use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form, Json};
use dirsync_model::catalogue::{Code, Severity};
use serde::Deserialize;

use super::{csrf_ok, set_cookie, Sess, WebState};
use crate::view::{self, Outcome, Summary};
use dirsync_engine::{RunReport, RunSummary, Trigger};

/// HTML-escapes text for element content and quoted attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const NAV: &[(&str, &str)] = &[
    ("/", "Dashboard"),
    ("/history", "Sync History"),
    ("/errors", "Errors"),
    ("/objects", "Synced Objects"),
    ("/preview", "Preview"),
    ("/settings", "Settings"),
];

pub(super) fn layout(title: &str, active: &str, sess: Option<&Sess>, body: &str) -> Html<String> {
    let mut nav = String::new();
    for (href, label) in NAV {
        let cur = if *href == active {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(nav, "<li><a href=\"{href}\"{cur}>{label}</a></li>");
    }
    let logout = match sess {
        Some(s) if s.authenticated && s.login_required => format!(
            "<form method=\"post\" action=\"/logout\" class=\"logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\" class=\"link\">Log out</button></form>",
            esc(&s.csrf)
        ),
        _ => String::new(),
    };
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t} · dirsync</title><link rel=\"stylesheet\" href=\"/assets/app.css\"><script src=\"/assets/app.js\" defer></script></head>\
<body><a class=\"skip\" href=\"#main\">Skip to content</a>\
<header class=\"top\"><nav aria-label=\"Main\"><span class=\"brand\">dirsync</span><ul>{nav}</ul>{logout}</nav></header>\
<main id=\"main\"><h1>{t}</h1>\n{body}\n</main><footer><p>dirsync {v} · error texts from the <a href=\"/errors\">catalogue</a></p></footer></body></html>",
        t = esc(title),
        v = env!("CARGO_PKG_VERSION"),
    ))
}

fn sync_buttons(sess: &Sess, running: bool) -> String {
    let dis = if running { " disabled" } else { "" };
    format!(
        "<div class=\"actions\">\
<form method=\"post\" action=\"/sync\"><input type=\"hidden\" name=\"csrf\" value=\"{c}\"><input type=\"hidden\" name=\"kind\" value=\"incremental\"><button type=\"submit\" id=\"sync-now\"{dis}>Sync now</button></form>\
<form method=\"post\" action=\"/sync\"><input type=\"hidden\" name=\"csrf\" value=\"{c}\"><input type=\"hidden\" name=\"kind\" value=\"full\"><button type=\"submit\" id=\"full-sync\" class=\"secondary\"{dis}>Full sync</button></form>\
</div>",
        c = esc(&sess.csrf)
    )
}

fn fmt_unix(t: Option<i64>) -> String {
    t.and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .map(view::fmt_time)
        .unwrap_or_else(|| "—".into())
}

fn status_badge(s: &Summary) -> String {
    format!(
        "<span class=\"badge {}\">{}</span>",
        badge_class(s.outcome),
        esc(&s.status)
    )
}

/// The badge's CSS class (app.css) for a run's outcome.
fn badge_class(o: Outcome) -> &'static str {
    match o {
        Outcome::Success => "success",
        Outcome::Errors => "errors",
        Outcome::Failed => "failed",
        Outcome::Threshold => "threshold",
        Outcome::Running => "running",
    }
}

fn progress_panel(st: &crate::service::Status) -> String {
    let (hidden, text, value, max) = match &st.running {
        Some(r) => (
            "",
            format!(
                "{} sync running: {} {}/{}",
                if r.full { "Full" } else { "Incremental" },
                esc(&r.phase),
                r.done,
                r.total
            ),
            r.done,
            r.total.max(1),
        ),
        None => (" hidden", String::new(), 0, 1),
    };
    format!(
        "<section id=\"progress\" class=\"card\" aria-live=\"polite\" data-last-run=\"{last}\"{hidden}><h2>Sync in progress</h2>\
<p id=\"progress-text\">{text}</p><progress id=\"progress-bar\" value=\"{value}\" max=\"{max}\" aria-labelledby=\"progress-text\"></progress>\
<noscript><p>Reload this page to see the progress.</p></noscript></section>\
<p id=\"progress-done\" class=\"notice\" aria-live=\"polite\" hidden></p>",
        last = st.last_run_id.map(|i| i.to_string()).unwrap_or_default(),
    )
}

async fn recent(state: &WebState, n: u32) -> Result<Vec<RunSummary>, String> {
    state
        .svc
        .agent
        .history()
        .runs(n)
        .await
        .map_err(|e| format!("{e:#}"))
}

pub(super) fn error_page(title: &str, active: &str, sess: &Sess, msg: &str) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        layout(
            title,
            active,
            Some(sess),
            &format!("<p class=\"error\" role=\"alert\">{}</p>", esc(msg)),
        ),
    )
        .into_response()
}

/// An inline SVG chart of changes and errors over the recent runs (oldest left).
fn chart(runs: &[Summary]) -> String {
    if runs.is_empty() {
        return "<p>No runs yet: the chart appears after the first sync.</p>".into();
    }
    let runs: Vec<&Summary> = runs.iter().rev().collect();
    let (w, h, pad_l, pad_b, pad_t) = (720.0f64, 220.0f64, 44.0f64, 36.0f64, 12.0f64);
    let max = runs
        .iter()
        .map(|r| r.changes.max(r.errors))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let slot = (w - pad_l - 8.0) / runs.len() as f64;
    let bw = (slot / 2.0 - 2.0).clamp(2.0, 18.0);
    let plot_h = h - pad_b - pad_t;
    let mut o = format!(
        "<figure class=\"chart\"><svg viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" aria-labelledby=\"chart-title chart-desc\" xmlns=\"http://www.w3.org/2000/svg\">\
<title id=\"chart-title\">Changes and errors in the last {n} runs</title><desc id=\"chart-desc\">Bar chart, oldest run on the left. Blue bars are changes, red bars are errors.</desc>",
        n = runs.len()
    );
    for i in 0..=4 {
        let y = pad_t + plot_h * (1.0 - i as f64 / 4.0);
        let v = (max * i as f64 / 4.0).round();
        let _ = write!(o, "<line x1=\"{pad_l}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"grid\"/><text x=\"{}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"end\">{v}</text>", w - 4.0, pad_l - 6.0, y + 4.0);
    }
    for (i, r) in runs.iter().enumerate() {
        let x = pad_l + slot * i as f64 + slot / 2.0 - bw;
        let ch = plot_h * r.changes as f64 / max;
        let er = plot_h * r.errors as f64 / max;
        let _ = write!(
            o,
            "<a href=\"/history/{id}\"><rect class=\"bar-changes\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{ch:.1}\"><title>Run {id}: {c} changes</title></rect>\
<rect class=\"bar-errors\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{er:.1}\"><title>Run {id}: {e} errors</title></rect></a>\
<text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"middle\">#{id}</text>",
            pad_t + plot_h - ch,
            x + bw + 1.0,
            pad_t + plot_h - er,
            x + bw,
            h - pad_b + 16.0,
            id = r.id,
            c = r.changes,
            e = r.errors,
        );
    }
    o.push_str("</svg><figcaption><span class=\"key changes\"></span> changes <span class=\"key errors\"></span> errors (each pair is one run; select a bar to open it)</figcaption></figure>");
    o
}

pub async fn dashboard(
    State(state): State<Arc<WebState>>,
    Extension(sess): Extension<Sess>,
) -> Response {
    let st = state.svc.status();
    let runs = match recent(&state, 20).await {
        Ok(r) => r,
        Err(e) => return error_page("Dashboard", "/", &sess, &e),
    };
    let summaries: Vec<Summary> = runs.iter().map(view::summary_of).collect();
    let applied: Vec<Summary> = summaries
        .iter()
        .filter(|s| s.mode == "apply")
        .cloned()
        .collect();
    let mut b = String::new();
    b.push_str(&progress_panel(&st));
    let state_word = if st.running.is_some() {
        "Syncing"
    } else {
        "Idle"
    };
    let last = applied.first();
    let _ = write!(b, "<div class=\"cards\"><section class=\"card\"><h2>Status</h2><p class=\"big\" id=\"status-word\">{state_word}</p>");
    match last {
        Some(s) => {
            let _ = write!(
                b,
                "<p>Last sync: <a href=\"/history/{}\">run #{}</a> {} at {}</p>",
                s.id,
                s.id,
                status_badge(s),
                esc(&s.started)
            );
        }
        None => b.push_str("<p>Last sync: none yet.</p>"),
    }
    if let Some(err) = &st.last_error {
        let _ = write!(b, "<p class=\"error\" role=\"alert\">The last attempt failed before a run was recorded: {}</p>", esc(err));
    }
    if st.scheduled {
        let _ = write!(
            b,
            "<p>Next incremental sync: {}<br>Next full sync: {}</p>",
            fmt_unix(st.next_incremental_unix),
            fmt_unix(st.next_full_unix)
        );
    } else {
        b.push_str("<p>Next sync: not scheduled (use the buttons).</p>");
    }
    b.push_str(&sync_buttons(&sess, st.running.is_some()));
    b.push_str("</section>");
    if let Some(s) = last {
        let _ = write!(
            b,
            "<section class=\"card\"><h2>Last sync counts</h2><dl class=\"counts\">\
<div><dt>In scope</dt><dd>{}</dd></div><div><dt>Created</dt><dd>{}</dd></div><div><dt>Updated</dt><dd>{}</dd></div><div><dt>Disabled</dt><dd>{}</dd></div>\
<div><dt>Deleted</dt><dd>{}</dd></div><div><dt>Errors</dt><dd><a href=\"/errors?run={}\">{}</a></dd></div><div><dt>Warnings</dt><dd>{}</dd></div></dl></section>",
            s.in_scope, s.created, s.updated, s.disabled, s.deleted, s.id, s.errors, s.warnings
        );
    }
    b.push_str("</div><section class=\"card\"><h2>Recent runs</h2>");
    b.push_str(&chart(&applied));
    b.push_str("</section>");
    layout("Dashboard", "/", Some(&sess), &b).into_response()
}

fn runs_table(runs: &[Summary]) -> String {
    if runs.is_empty() {
        return "<p>No runs yet.</p>".into();
    }
    let mut o = String::from(
        "<table class=\"runs\"><caption class=\"sr-only\">Runs, newest first</caption><thead><tr><th scope=\"col\">Run</th><th scope=\"col\">Started</th><th scope=\"col\">Trigger</th><th scope=\"col\">Mode</th><th scope=\"col\">Read</th><th scope=\"col\">Duration</th><th scope=\"col\">Status</th><th scope=\"col\" class=\"num\">Changes</th><th scope=\"col\" class=\"num\">Errors</th><th scope=\"col\" class=\"num\">Warnings</th></tr></thead><tbody>",
    );
    for s in runs {
        let _ = write!(
            o,
            "<tr id=\"run-{id}\"><td><a href=\"/history/{id}\">#{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&s.started),
            esc(&s.trigger),
            esc(&s.mode),
            esc(&s.kind),
            esc(&s.duration),
            status_badge(s),
            s.changes,
            s.errors,
            s.warnings,
            id = s.id
        );
    }
    o.push_str("</tbody></table>");
    o
}

pub async fn history(
    State(state): State<Arc<WebState>>,
    Extension(sess): Extension<Sess>,
) -> Response {
    let st = state.svc.status();
    let runs = match recent(&state, 100).await {
        Ok(r) => r,
        Err(e) => return error_page("Sync History", "/history", &sess, &e),
    };
    let summaries: Vec<Summary> = runs.iter().map(view::summary_of).collect();
    let mut b = progress_panel(&st);
    b.push_str(&sync_buttons(&sess, st.running.is_some()));
    b.push_str(&runs_table(&summaries));
    layout("Sync History", "/history", Some(&sess), &b).into_response()
}

fn code_link(c: Code) -> String {
    format!(
        "<a href=\"/errors/{c}\" class=\"code {}\">{c}</a>",
        if c.severity() == Severity::Error {
            "sev-error"
        } else {
            "sev-warning"
        }
    )
}

fn findings_groups(report: &RunReport, only: Option<Code>) -> String {
    let groups: Vec<(Code, view::AffectedList)> = view::by_code(report)
        .into_iter()
        .filter(|(c, _)| only.is_none_or(|o| o == *c))
        .collect();
    if groups.is_empty() {
        return "<p class=\"ok\">No errors or warnings in this run.</p>".into();
    }
    let mut o = String::new();
    for (code, items) in groups {
        let d = code.definition();
        let (sev, badge) = if d.severity == Severity::Error {
            ("Error", "failed")
        } else {
            ("Warning", "threshold")
        };
        let _ = write!(
            o,
            "<section class=\"finding card sev-{}\" id=\"{code}\" aria-labelledby=\"h-{code}\"><h2 id=\"h-{code}\"><a href=\"/errors/{code}\">{code}</a> · {} <span class=\"badge {badge}\">{sev}</span></h2>\
<p class=\"count\">{} object{}</p><h3>Cause</h3><p class=\"cause\">{}</p><h3>Solution</h3><ul class=\"solution\">",
            d.severity,
            esc(d.title),
            items.len(),
            if items.len() == 1 { "" } else { "s" },
            esc(d.cause),
        );
        for step in d.solution {
            let _ = write!(o, "<li>{}</li>", esc(step));
        }
        o.push_str("</ul><h3>Affected objects</h3><table><thead><tr><th scope=\"col\">Object (DN)</th><th scope=\"col\">Message</th></tr></thead><tbody>");
        for (dn, message) in items {
            let _ = write!(
                o,
                "<tr><td class=\"dn\">{}</td><td>{}</td></tr>",
                esc(dn.as_deref().unwrap_or("(the run)")),
                esc(&message)
            );
        }
        o.push_str("</tbody></table></section>");
    }
    o
}

fn ops_table(rows: &[view::OpRow], with_result: bool) -> String {
    let mut b = String::from("<table class=\"objects\"><thead><tr><th scope=\"col\">Action</th><th scope=\"col\">Kind</th><th scope=\"col\">Target</th><th scope=\"col\">Object (DN)</th><th scope=\"col\">Reason</th>");
    if with_result {
        b.push_str("<th scope=\"col\">Result</th>");
    }
    b.push_str("</tr></thead><tbody>");
    for r in rows {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"dn\">{}</td><td>{}</td>",
            esc(&r.action),
            esc(&r.kind),
            esc(&r.target),
            esc(&r.dn),
            esc(&r.reason)
        );
        if with_result {
            let code = r.code.map(code_link).unwrap_or_default();
            let msg = r
                .message
                .as_deref()
                .map(|m| format!("<br><small>{}</small>", esc(m)))
                .unwrap_or_default();
            let _ = write!(b, "<td>{} {code}{msg}</td>", esc(&r.result));
        }
        b.push_str("</tr>");
    }
    b.push_str("</tbody></table>");
    b
}

/// Operations shown per page of a run's detail.
const OPS_PER_PAGE: usize = 500;

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<usize>,
}

pub async fn run_detail(
    State(state): State<Arc<WebState>>,
    Extension(sess): Extension<Sess>,
    Path(id): Path<i64>,
    Query(pq): Query<PageQuery>,
) -> Response {
    // The report with its failed and skipped operations only; the page's
    // operations are read from the history (a full run has 156,000 at
    // 50,000 users).
    let history = state.svc.agent.history();
    let report = match history.report_summary(id).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                layout(
                    "Run not found",
                    "/history",
                    Some(&sess),
                    &format!(
                    "<p>There is no run #{id}. <a href=\"/history\">Back to the history</a>.</p>"
                ),
                ),
            )
                .into_response()
        }
        Err(e) => return error_page("Sync History", "/history", &sess, &format!("{e:#}")),
    };
    let s = view::summary(&report);
    let mut b = format!(
        "<p><a href=\"/history\">← Sync History</a></p><section class=\"card\"><dl class=\"meta\"><div><dt>Status</dt><dd>{}</dd></div><div><dt>Started</dt><dd>{}</dd></div><div><dt>Duration</dt><dd>{}</dd></div>\
<div><dt>Trigger</dt><dd>{}</dd></div><div><dt>Mode</dt><dd>{}</dd></div><div><dt>Read</dt><dd>{}</dd></div></dl><p>{}</p><p>{}</p></section>",
        status_badge(&s),
        esc(&s.started),
        esc(&s.duration),
        esc(&s.trigger),
        esc(&s.mode),
        esc(&s.kind),
        esc(&s.counts_line()),
        esc(&report.summary)
    );
    b.push_str("<h2>Errors and warnings</h2>");
    b.push_str(&findings_groups(&report, None));
    b.push_str(&super::objects::verified_in_run(&report));
    let total = if report.operations_stored {
        report.counts.planned as usize
    } else {
        report.operations.len()
    };
    let page = pq.page.unwrap_or(1).max(1);
    let from = (page - 1) * OPS_PER_PAGE;
    let ops: Vec<dirsync_engine::OpOutcome> = if report.operations_stored {
        match history.operations_page(id, from, OPS_PER_PAGE).await {
            Ok(p) => p.into_iter().map(|(_, o)| o).collect(),
            Err(e) => return error_page("Sync History", "/history", &sess, &format!("{e:#}")),
        }
    } else {
        report
            .operations
            .iter()
            .skip(from)
            .take(OPS_PER_PAGE)
            .cloned()
            .collect()
    };
    let rows = view::op_rows(&ops);
    let _ = write!(b, "<h2>Operations ({total})</h2>");
    if total == 0 {
        b.push_str("<p>No change was needed or planned in this run.</p>");
    } else {
        if total > OPS_PER_PAGE {
            let last = total.div_ceil(OPS_PER_PAGE);
            let _ = write!(
                b,
                "<p class=\"pages\">Operations {}–{} of {total} (page {page} of {last}).",
                (from + 1).min(total),
                (from + rows.len()).max(from),
            );
            if page > 1 {
                let _ = write!(
                    b,
                    " <a href=\"/history/{id}?page={}\">Previous</a>",
                    page - 1
                );
            }
            if page < last {
                let _ = write!(b, " <a href=\"/history/{id}?page={}\">Next</a>", page + 1);
            }
            b.push_str("</p>");
        }
        b.push_str(&ops_table(&rows, true));
    }
    layout(&format!("Run #{id}"), "/history", Some(&sess), &b).into_response()
}

#[derive(Deserialize)]
pub struct RunQuery {
    run: Option<i64>,
}

/// The run the Errors pages describe: the one asked for, else the latest applied (or checked) run.
async fn errors_run(state: &WebState, q: &RunQuery) -> Result<Option<RunReport>, String> {
    if let Some(id) = q.run {
        return state
            .svc
            .agent
            .history()
            .report_summary(id)
            .await
            .map_err(|e| format!("{e:#}"));
    }
    let runs = recent(state, 50).await?;
    match runs
        .into_iter()
        .find(|r| r.mode != "plan" && r.status != "running")
    {
        Some(r) => state
            .svc
            .agent
            .history()
            .report_summary(r.id)
            .await
            .map_err(|e| format!("{e:#}")),
        None => Ok(None),
    }
}

pub async fn errors(
    State(state): State<Arc<WebState>>,
    Extension(sess): Extension<Sess>,
    Query(q): Query<RunQuery>,
) -> Response {
    let report = match errors_run(&state, &q).await {
        Ok(r) => r,
        Err(e) => return error_page("Errors", "/errors", &sess, &e),
    };
    let b = match report {
        None => "<p>No runs yet, so no errors. The <a href=\"/preview\">Preview</a> predicts them before the first sync.</p>".to_string(),
        Some(r) => {
            let s = view::summary(&r);
            format!("<p>From <a href=\"/history/{0}\">run #{0}</a> ({1}, {2}). Each group shows the message, its cause, the fix and the objects it hit.</p>{3}", s.id, esc(&s.started), status_badge(&s), findings_groups(&r, None))
        }
    };
    layout("Errors", "/errors", Some(&sess), &b).into_response()
}

pub async fn error_detail(
    State(state): State<Arc<WebState>>,
    Extension(sess): Extension<Sess>,
    Path(code): Path<String>,
    Query(q): Query<RunQuery>,
) -> Response {
    let Some(code) = Code::parse(&code) else {
        return (
            StatusCode::NOT_FOUND,
            layout(
                "Unknown code",
                "/errors",
                Some(&sess),
                "<p>That is not a catalogue code. <a href=\"/errors\">Back to Errors</a>.</p>",
            ),
        )
            .into_response();
    };
    let d = code.definition();
    let mut b = format!("<p><a href=\"/errors\">← Errors</a></p><section class=\"card\"><p class=\"template\">Message: <q>{}</q></p><h2>Cause</h2><p class=\"cause\">{}</p><h2>Solution</h2><ul class=\"solution\">", esc(d.template), esc(d.cause));
    for step in d.solution {
        let _ = write!(b, "<li>{}</li>", esc(step));
    }
    b.push_str("</ul>");
    if d.retried {
        b.push_str(
            "<p>dirsync retries this itself and reports it only when the retries run out.</p>",
        );
    }
    b.push_str("</section>");
    match errors_run(&state, &q).await {
        Ok(Some(r)) => {
            let s = view::summary(&r);
            let _ = write!(b, "<h2>In <a href=\"/history/{0}\">run #{0}</a></h2>", s.id);
            b.push_str(&findings_groups(&r, Some(code)));
        }
        Ok(None) => {}
        Err(e) => {
            let _ = write!(b, "<p class=\"error\">{}</p>", esc(&e));
        }
    }
    layout(&format!("{code}: {}", d.title), "/errors", Some(&sess), &b).into_response()
}

pub async fn preview(
    State(state): State<Arc<WebState>>,
    Extension(sess): Extension<Sess>,
) -> Response {
    let mut cache = state.preview.lock().await;
    let fresh = cache
        .as_ref()
        .is_some_and(|(at, _, _)| at.elapsed() < Duration::from_secs(15));
    if !fresh {
        let r = state.svc.preview().await.map_err(|e| format!("{e:#}"));
        *cache = Some((Instant::now(), time::OffsetDateTime::now_utc(), r));
    }
    let (_, at, result) = cache.as_ref().expect("just filled");
    let b = match result {
        Err(e) => format!(
            "<p class=\"error\" role=\"alert\">The plan could not be computed: {}</p>",
            esc(e)
        ),
        Ok(r) => {
            let ops = view::operations(r);
            let mut b = format!("<p>What a full sync would change now, computed at {}. Nothing has been applied.</p>", view::fmt_time(*at));
            if ops.is_empty() {
                b.push_str("<p class=\"ok\">Nothing to change: the control panel matches the directory.</p>");
            } else {
                let _ = write!(b, "<h2>Planned changes ({})</h2>", ops.len());
                b.push_str(&ops_table(&ops, false));
            }
            b.push_str("<h2>Predicted errors and warnings</h2>");
            b.push_str(&findings_groups(r, None));
            b
        }
    };
    layout("Preview", "/preview", Some(&sess), &b).into_response()
}

fn flatten(prefix: &str, v: &toml::Value, out: &mut Vec<(String, String)>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

pub async fn settings(
    State(state): State<Arc<WebState>>,
    Extension(sess): Extension<Sess>,
) -> Response {
    let loaded = &state.svc.loaded;
    let mut rows = Vec::new();
    if let Ok(mut v) = toml::Value::try_from(&loaded.config) {
        // The engine keys in effect, defaults included.
        if let (Some(t), Some(e)) = (
            v.as_table_mut(),
            crate::engine_settings::effective_engine_table(&loaded.config),
        ) {
            t.insert("engine".into(), toml::Value::Table(e));
        }
        flatten("", &v, &mut rows);
    }
    let mut b = format!(
        "<p>Read-only: the settings in effect, defaults included. Change settings in <code>{}</code>, environment variables or flags, then restart. Secrets are never shown.</p><table class=\"settings\"><thead><tr><th scope=\"col\">Key</th><th scope=\"col\">Value</th></tr></thead><tbody>",
        esc(&loaded.path.display().to_string())
    );
    for (k, v) in rows {
        let _ = write!(
            b,
            "<tr><th scope=\"row\"><code>{}</code></th><td><code>{}</code></td></tr>",
            esc(&k),
            esc(&v)
        );
    }
    b.push_str("</tbody></table><h2>Secrets</h2><table class=\"settings\"><thead><tr><th scope=\"col\">Secret</th><th scope=\"col\">State</th></tr></thead><tbody>");
    for name in ["ldap_bind_password", "api_secret_key", "ui_admin_password"] {
        let state_txt = match loaded.secret_sources.get(name) {
            Some(src) => format!("{} (from {})", crate::secret::REDACTED, esc(src)),
            None => "not set".into(),
        };
        let _ = write!(
            b,
            "<tr><th scope=\"row\"><code>{name}</code></th><td>{state_txt}</td></tr>"
        );
    }
    b.push_str("</tbody></table>");
    layout("Settings", "/settings", Some(&sess), &b).into_response()
}

#[derive(Deserialize)]
pub struct SyncForm {
    csrf: Option<String>,
    kind: Option<String>,
}

pub async fn sync_now(
    State(state): State<Arc<WebState>>,
    Extension(sess): Extension<Sess>,
    Form(f): Form<SyncForm>,
) -> Response {
    if !csrf_ok(&sess, f.csrf.as_deref()) {
        return (StatusCode::FORBIDDEN, layout("Refused", "/", Some(&sess), "<p class=\"error\" role=\"alert\">This request did not carry this page's security token (CSRF), so it was refused. Go back to the <a href=\"/\">Dashboard</a>, reload, and use its buttons.</p>")).into_response();
    }
    let full = f.kind.as_deref() == Some("full");
    match state.svc.try_start(full, Trigger::Ui) {
        Ok(()) => Redirect::to("/?started=1").into_response(),
        Err(e) => (StatusCode::CONFLICT, layout("Busy", "/", Some(&sess), &format!("<p class=\"error\" role=\"alert\">{}. <a href=\"/\">Back to the Dashboard</a>.</p>", esc(&e.to_string())))).into_response(),
    }
}

pub async fn api_status(State(state): State<Arc<WebState>>) -> Json<crate::service::Status> {
    Json(state.svc.status())
}

pub async fn healthz(State(state): State<Arc<WebState>>) -> Response {
    let st = state.svc.status();
    Json(serde_json::json!({
        "status": "ok",
        "syncing": st.running.is_some(),
        "last_run_id": st.last_run_id,
        "last_error": st.last_error,
    }))
    .into_response()
}

pub async fn metrics(State(state): State<Arc<WebState>>) -> Response {
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.svc.metrics_text(),
    )
        .into_response()
}

pub async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("../../assets/app.css"),
    )
        .into_response()
}

pub async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("../../assets/app.js"),
    )
        .into_response()
}

pub async fn login_form(
    State(state): State<Arc<WebState>>,
    Extension(sess): Extension<Sess>,
) -> Response {
    if !state.requires_login() || sess.authenticated {
        return Redirect::to("/").into_response();
    }
    login_page(&sess, None, StatusCode::OK)
}

fn login_page(sess: &Sess, error: Option<&str>, status: StatusCode) -> Response {
    let err = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default();
    let body = format!(
        "{err}<form method=\"post\" action=\"/login\" class=\"login card\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<label for=\"password\">Admin password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required autofocus>\
<button type=\"submit\">Log in</button></form>",
        esc(&sess.csrf)
    );
    (status, layout("Log in", "", None, &body)).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: Option<String>,
    password: Option<String>,
}

pub async fn login(
    State(state): State<Arc<WebState>>,
    Extension(sess): Extension<Sess>,
    Form(f): Form<LoginForm>,
) -> Response {
    if !csrf_ok(&sess, f.csrf.as_deref()) {
        return login_page(
            &sess,
            Some("The form expired; please try again."),
            StatusCode::FORBIDDEN,
        );
    }
    use super::login_limit::{Admit, LOCKOUT, MAX_FAILURES, WINDOW};
    let admit = state.login_limit().attempt(Instant::now());
    if let Admit::Locked(left) | Admit::LockedNow(left) = admit {
        if admit == Admit::LockedNow(left) {
            tracing::warn!(
                failures = MAX_FAILURES,
                window_secs = WINDOW.as_secs(),
                lockout_secs = LOCKOUT.as_secs(),
                "web UI: too many failed logins; every login is refused for the lockout"
            );
        }
        let msg = format!(
            "Too many failed logins: login is locked for {} more second(s). The lockout is logged.",
            left.as_secs() + 1
        );
        return login_page(&sess, Some(&msg), StatusCode::TOO_MANY_REQUESTS);
    }
    if !state.password_ok(f.password.as_deref().unwrap_or("")) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        tracing::warn!("web UI: failed login");
        return login_page(&sess, Some("Wrong password."), StatusCode::UNAUTHORIZED);
    }
    state.login_limit().succeeded();
    state.sessions().remove(&sess.id);
    let new = state.new_session(true);
    let mut resp = Redirect::to("/").into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&new.id));
    resp
}

pub async fn logout(
    State(state): State<Arc<WebState>>,
    Extension(sess): Extension<Sess>,
    headers: HeaderMap,
    Form(f): Form<SyncForm>,
) -> Response {
    let _ = headers;
    if !csrf_ok(&sess, f.csrf.as_deref()) {
        return (StatusCode::FORBIDDEN, "Refused: missing CSRF token.\n").into_response();
    }
    state.sessions().remove(&sess.id);
    Redirect::to("/login").into_response()
}
