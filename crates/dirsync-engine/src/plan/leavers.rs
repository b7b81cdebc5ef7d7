//! Anchored objects that left the scope: mailboxes are disabled and kept,
//! or deleted after the grace period of the delete policy; contacts and
//! lists are deleted.

use dirsync_model::{Code, Finding};

use super::mailboxes::service_group;
use super::ops::Subject;
use super::planner::Planner;
use super::{phase, DeletePolicy};
use crate::types::{Anchor, Desired, OpKind, Service, TargetKind};

const DAY: i64 = 86_400;

/// Plans the anchored objects no longer in scope, in DN order.
pub(super) fn plan_leavers(p: &mut Planner<'_>, desired: &Desired, anchors: &[Anchor]) {
    let mut leavers: Vec<&Anchor> = anchors
        .iter()
        .filter(|a| !desired.in_scope.contains(&a.guid))
        .collect();
    leavers.sort_by_key(|a| a.dn.to_ascii_lowercase());
    for a in leavers {
        let label =
            a.dn.split(',')
                .next()
                .and_then(|r| r.split_once('='))
                .map(|(_, v)| v.to_string())
                .unwrap_or_else(|| a.dn.clone());
        match a.kind {
            TargetKind::Mailbox => leave_mailbox(p, a, &label),
            TargetKind::Contact | TargetKind::List => leave_other(p, a, &label),
        }
    }
}

/// A mailbox that left: deleted when the delete policy's grace period has
/// run out since it was disabled; otherwise disabled (the deletion date
/// reported under a grace policy, DS106), and its anchor notes when.
fn leave_mailbox(p: &mut Planner<'_>, a: &Anchor, label: &str) {
    let Some(tm) = p.mailboxes.get(&(a.service, a.address.lower())).copied() else {
        p.forget(a.guid, vec![]);
        return;
    };
    let subject = Subject::leaver(a, label);
    let now = p.settings.now;
    let since = a.disabled_at.unwrap_or(now);
    let why = format!("left the {} group", service_group(a.service));
    match p.settings.delete_policy {
        DeletePolicy::AfterGrace { days }
            if a.disabled_at.is_some() && now - since >= days as i64 * DAY =>
        {
            let reason = format!("{why} {days} or more days ago; deleted under the delete policy");
            let s = p.push(subject.op(OpKind::Delete, &a.address, phase::LEAVE_MAILBOXES, reason));
            p.forget(a.guid, vec![s]);
            return;
        }
        DeletePolicy::AfterGrace { days } => {
            let when = time::OffsetDateTime::from_unix_timestamp(since + days as i64 * DAY)
                .map(|t| t.date().to_string())
                .unwrap_or_default();
            p.findings.push(Finding::new(
                Code::DeletionDeferred,
                Some(&a.dn),
                Some(a.guid),
                [
                    ("address", a.address.to_string()),
                    ("object", a.dn.clone()),
                    ("date", when),
                ],
            ));
        }
        DeletePolicy::Never => {}
    }
    let mut after = vec![];
    if tm.enabled {
        let reason = format!("{why}; disabled, not deleted");
        after.push(p.push(subject.op(OpKind::Disable, &a.address, phase::LEAVE_MAILBOXES, reason)));
    }
    if a.disabled_at.is_none() {
        let mut disabled = a.clone();
        disabled.disabled_at = Some(now);
        p.record_anchor(Some(a), disabled, after);
    }
}

/// A contact or list that left: deleted when it still exists.
fn leave_other(p: &mut Planner<'_>, a: &Anchor, label: &str) {
    let exists = match a.kind {
        TargetKind::Contact => p.contacts.contains_key(a.address.lower()),
        _ => p.lists.contains_key(a.address.lower()),
    };
    if !exists {
        p.forget(a.guid, vec![]);
        return;
    }
    let what = if a.kind == TargetKind::Contact {
        "contact left the Hosted Exchange group"
    } else {
        "group left the Hosted Exchange group or is no longer mail-enabled"
    };
    let subject = Subject {
        service: Service::Exchange,
        ..Subject::leaver(a, label)
    };
    let reason = format!("{what}; deleted");
    let s = p.push(subject.op(OpKind::Delete, &a.address, phase::DELETE_OTHERS, reason));
    p.forget(a.guid, vec![s]);
}
