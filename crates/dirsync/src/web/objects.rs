//! The synced objects and when each was last verified in the control panel
//! (the rolling verification of `dirsync_engine::verify`), and the
//! verification section of a run's page. Both come from the state store's
//! records, like every other page.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use super::pages::{error_page, esc, layout};
use super::{Sess, WebState};
use crate::view::fmt_time;
use dirsync_engine::RunReport;

fn when(ms: Option<i64>) -> String {
    ms.and_then(|ms| time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).ok())
        .map(fmt_time)
        .unwrap_or_else(|| "never".into())
}

/// `/objects`: every synced object, least recently verified first.
pub async fn objects(
    State(state): State<Arc<WebState>>,
    Extension(sess): Extension<Sess>,
) -> Response {
    let mut list = match state.svc.agent.history().synced_objects().await {
        Ok(l) => l,
        Err(e) => return error_page("Synced Objects", "/objects", &sess, &format!("{e:#}")),
    };
    list.sort_by(|a, b| {
        (a.verified_at.is_some(), a.verified_at, &a.address).cmp(&(
            b.verified_at.is_some(),
            b.verified_at,
            &b.address,
        ))
    });
    let never = list.iter().filter(|o| o.verified_at.is_none()).count();
    let mut b = format!(
        "<p>Objects dirsync keeps in step with the directory: {} in all, {} never verified. \
Each run reads the details of a few of them, the least recently verified first, and repairs changes made by hand in the control panel.</p>",
        list.len(),
        never
    );
    if list.is_empty() {
        b.push_str("<p>No object is synced yet.</p>");
    } else {
        b.push_str("<table id=\"synced-objects\"><thead><tr><th scope=\"col\">Object</th><th scope=\"col\">Kind</th><th scope=\"col\">Service</th><th scope=\"col\">Directory object (DN)</th><th scope=\"col\">Last verified</th></tr></thead><tbody>");
        for o in &list {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"dn\">{}</td><td class=\"verified\">{}{}</td></tr>",
                esc(&o.address),
                o.kind.as_str(),
                o.service.as_str(),
                esc(&o.dn),
                esc(&when(o.verified_at)),
                if o.repaired {
                    " <span class=\"badge threshold\">hand edit repaired</span>"
                } else {
                    ""
                }
            );
        }
        b.push_str("</tbody></table>");
    }
    layout("Synced Objects", "/objects", Some(&sess), &b).into_response()
}

/// The run page's section: what the run read and which objects it verified.
pub fn verified_in_run(r: &RunReport) -> String {
    let v = &r.verification;
    let mut b = format!(
        "<h2>Verification</h2><p>Read {} list page(s) and {} object(s) ({} needed by the plan, verification budget {}). \
{} synced object(s) never verified{}.</p>",
        v.list_pages,
        v.object_reads,
        v.needed_reads,
        v.budget,
        v.never_verified,
        match &v.oldest_verified_at {
            Some(t) => format!("; the oldest verification is from {}", esc(t)),
            None => String::new(),
        }
    );
    if !v.objects.is_empty() {
        b.push_str("<table class=\"verified-objects\"><thead><tr><th scope=\"col\">Object</th><th scope=\"col\">Kind</th><th scope=\"col\">Found</th></tr></thead><tbody>");
        for o in &v.objects {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&o.target),
                o.kind.as_str(),
                if o.drift {
                    "changed by hand; repair planned"
                } else {
                    "read"
                }
            );
        }
        b.push_str("</tbody></table>");
    }
    b
}
