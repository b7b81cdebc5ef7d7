//! A narrowed run's desired state by GUID: the hashes its proof compares
//! with the anchors, and the listing items of the objects it plans.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use dirsync_model::Guid;

use crate::known::listing_of;
use crate::plan::state_hash;
use crate::reader::{Listing, ObjectRef, Summary};
use crate::types::{Anchor, Desired, DesiredContact, DesiredList, DesiredMailbox, Service};

/// A desired state indexed by GUID.
pub(super) struct Index<'a> {
    mailboxes: HashMap<Guid, &'a DesiredMailbox>,
    contacts: HashMap<Guid, &'a DesiredContact>,
    lists: HashMap<Guid, &'a DesiredList>,
    pinned: &'a BTreeMap<Guid, String>,
}

impl<'a> Index<'a> {
    pub(super) fn of(d: &'a Desired) -> Index<'a> {
        Index {
            mailboxes: d.mailboxes.iter().map(|m| (m.guid, m)).collect(),
            contacts: d.contacts.iter().map(|c| (c.guid, c)).collect(),
            lists: d.lists.iter().map(|l| (l.guid, l)).collect(),
            pinned: &d.pinned,
        }
    }

    /// The hash of the desired state of `guid`, as the planner records it
    /// in the anchor: mailboxes and contacts directly, a list over the
    /// addresses its members have as dirsync last wrote them (a contact's
    /// is its anchor's).
    pub(super) fn hash(&self, guid: Guid, anchors: &HashMap<Guid, Anchor>) -> Option<String> {
        if let Some(m) = self.mailboxes.get(&guid) {
            return Some(state_hash(*m));
        }
        if let Some(c) = self.contacts.get(&guid) {
            return Some(state_hash(*c));
        }
        let l: &DesiredList = self.lists.get(&guid)?;
        let mut members: BTreeSet<String> = BTreeSet::new();
        for g in l.members.iter().filter(|g| **g != l.guid) {
            if let Some(m) = self.mailboxes.get(g) {
                members.insert(m.address.lower().to_string());
            } else if let Some(x) = self.lists.get(g) {
                members.insert(x.address.lower().to_string());
            } else if self.contacts.contains_key(g) {
                members.insert(anchors.get(g)?.address.lower().to_string());
            } else if let Some(a) = self.pinned.get(g) {
                members.insert(a.clone());
            }
        }
        Some(state_hash(&(l, &members)))
    }

    /// The display name wanted for `guid`.
    fn display_name(&self, guid: Guid) -> Option<String> {
        let fields = self
            .mailboxes
            .get(&guid)
            .map(|m| &m.fields)
            .or_else(|| self.contacts.get(&guid).map(|c| &c.fields));
        match fields {
            Some(f) => f.get("displayName").cloned(),
            None => self.lists.get(&guid).map(|l| l.display_name.clone()),
        }
    }
}

/// The listing items of the planned objects: each as its anchor says, with
/// the display name dirsync last wrote (`before`, else `now`), and the
/// Rackspace Email aliases of the mailboxes as dirsync last wrote them.
pub(crate) fn listed_items(
    anchors: &[Anchor],
    before: &Desired,
    now: &Desired,
) -> BTreeMap<(Listing, String), Summary> {
    let (b, n) = (Index::of(before), Index::of(now));
    let mut items = BTreeMap::new();
    for a in anchors {
        let name = b
            .display_name(a.guid)
            .or_else(|| n.display_name(a.guid))
            .unwrap_or_default();
        items.insert(
            (
                listing_of(ObjectRef::of(a.kind, a.service)),
                a.address.lower().to_string(),
            ),
            Summary {
                address: a.address.clone(),
                display_name: name,
                members: 0,
                single_member: None,
            },
        );
    }
    let anchored: HashSet<Guid> = anchors.iter().map(|a| a.guid).collect();
    for m in before
        .mailboxes
        .iter()
        .filter(|m| m.service == Service::RsEmail && anchored.contains(&m.guid))
    {
        for alt in &m.alternates {
            items.insert(
                (Listing::RsAliases, alt.lower().to_string()),
                Summary {
                    address: alt.clone(),
                    display_name: String::new(),
                    members: 1,
                    single_member: Some(m.address.lower().to_string()),
                },
            );
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::tests::{contact, group, snapshot, user};
    use crate::mapping::{desired_state, MappingSettings};
    use crate::plan::{plan, PlanSettings};
    use crate::types::{TargetDomain, TargetState};
    use dirsync_model::DomainName;

    /// The hashes a narrowed run proves objects by are the ones the
    /// planner records: mailboxes of both services, a contact, and lists
    /// over mailboxes, a contact, a nested list and a member without
    /// mailbox.
    #[test]
    fn hashes_are_the_planners() {
        let a = user(1, "Ann", Some("ann@example.com"));
        let mut b = user(2, "Bob", Some("bob@example.com"));
        b.proxy_addresses = vec!["SMTP:bob@example.com".into(), "smtp:b@example.com".into()];
        let r = user(3, "Rae", Some("rae@example.com"));
        let nested = user(4, "Ned", Some("ned@example.com"));
        let c = contact(5, "Cat", "cat@partner.test", &["example.com"]);
        let inner = group(6, "Inner", Some("inner@example.com"), &[&a]);
        let outer = group(
            7,
            "Outer",
            Some("outer@example.com"),
            &[&a, &b, &r, &c, &inner, &nested],
        );
        let s = snapshot(vec![a, b, c, inner, outer], vec![r], vec![nested]);
        let desired = desired_state(&s, MappingSettings::default());
        let domain = TargetDomain {
            name: DomainName::parse("example.com").unwrap(),
            exchange: true,
            rs_email: true,
            exchange_limit: 10,
            exchange_used: 0,
            rs_email_limit: 10,
            rs_email_used: 0,
            aliases: vec![],
            accepted: vec![],
        };
        let target = TargetState {
            domains: vec![domain],
            ..TargetState::default()
        };
        let p = plan(&desired, &target, &[], &PlanSettings::default());
        let anchors: HashMap<Guid, Anchor> = p
            .anchors
            .iter()
            .filter_map(|u| u.anchor.clone())
            .map(|a| (a.guid, a))
            .collect();
        assert_eq!(anchors.len(), 6, "{anchors:#?}");
        let index = Index::of(&desired);
        for (g, a) in &anchors {
            assert_eq!(
                index.hash(*g, &anchors).as_deref(),
                Some(a.hash.as_str()),
                "{a:?}"
            );
        }
    }
}
