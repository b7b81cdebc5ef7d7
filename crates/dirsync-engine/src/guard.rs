//! The group safety limits (DS204): pure comparison of the service groups'
//! and the distribution lists' membership between the last synced directory
//! (the replica) and this run's read.
//!
//! The disable/delete threshold (DS201) counts objects against the whole
//! directory, so it cannot see a small organisation's service group being
//! emptied, nor a list losing half its members (member removals are not
//! disables). These limits look at each group instead.

use std::collections::{HashMap, HashSet};

use dirsync_model::{Code, DirectoryObject, DirectorySnapshot, Finding, Guid, ObjectKind};

use crate::settings::Threshold;
use crate::types::{Anchor, Service, TargetKind};

/// The groups whose membership drives a sync, with their members, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    /// Group GUID -> (DN, label, service group?, members).
    groups: HashMap<Guid, GroupMembers>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct GroupMembers {
    label: String,
    dn: String,
    service: bool,
    /// Each member as its objectGUID when the read holds it, else its DN
    /// (lower case), so that a renamed or moved member is not counted as
    /// one that left.
    members: HashSet<Member>,
}

/// One member of a group, as [`GroupMembers::members`] keys it: a GUID
/// held as its 16 bytes rather than as text (a service group of 100,000
/// users holds 100,000 of them).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Member {
    Guid(Guid),
    Dn(Box<str>),
}

fn key(dn: &str) -> String {
    dn.trim().to_ascii_lowercase()
}

impl Membership {
    /// The service groups and the groups that are their direct members
    /// (distribution lists), each with its members.
    pub fn of(s: &DirectorySnapshot) -> Membership {
        let mut index = MemberIndex::default();
        for o in &s.objects {
            index.add_dn(o);
        }
        let groups: HashMap<Guid, &DirectoryObject> = s
            .objects
            .iter()
            .filter(|o| MemberIndex::keeps(o, [s.exchange_group, s.rsemail_group]))
            .map(|o| (o.guid, o))
            .collect();
        index.membership([s.exchange_group, s.rsemail_group], &groups)
    }
}

/// What [`Membership`] needs of a directory, gathered object by object so
/// that a directory read a page at a time (the replica in the state store)
/// is never held whole: every object's DN with its GUID, and the groups.
#[derive(Debug, Default)]
pub(crate) struct MemberIndex {
    /// The lower-case DN's key ([`crate::staged::dn_hash`]) -> GUID, of
    /// every object: 16 bytes a DN rather than its lower-case copy.
    guid_of: HashMap<u128, Guid>,
}

impl MemberIndex {
    /// Records one object's DN.
    pub fn add_dn(&mut self, o: &DirectoryObject) {
        self.guid_of.insert(crate::staged::dn_hash(&o.dn), o.guid);
    }

    /// True for an object [`MemberIndex::membership`] needs whole: a group,
    /// or a service group whatever its kind.
    pub fn keeps(o: &DirectoryObject, service: [Option<Guid>; 2]) -> bool {
        o.kind == ObjectKind::Group || service.contains(&Some(o.guid))
    }

    /// The membership of the service groups and their direct member
    /// groups, `groups` holding at least every object [`MemberIndex::keeps`].
    pub fn membership(
        &self,
        service: [Option<Guid>; 2],
        groups: &HashMap<Guid, &DirectoryObject>,
    ) -> Membership {
        membership_with(service, groups, |dn| {
            self.guid_of.get(&crate::staged::dn_hash(dn)).copied()
        })
    }
}

/// The membership of the service groups and their direct member groups,
/// `groups` holding at least every group and the service groups, and
/// `guid_of` the GUID of the object a member DN names (compared trimmed,
/// case folded). Shared by a snapshot's [`MemberIndex`] and a staged
/// read's index (`crate::staged::StagedIndex`).
pub(crate) fn membership_with(
    service: [Option<Guid>; 2],
    groups: &HashMap<Guid, &DirectoryObject>,
    guid_of: impl Fn(&str) -> Option<Guid>,
) -> Membership {
    let member_set = |g: &DirectoryObject| -> HashSet<Member> {
        g.members
            .iter()
            .map(|m| match guid_of(m) {
                Some(guid) => Member::Guid(guid),
                None => Member::Dn(key(m).into_boxed_str()),
            })
            .collect()
    };
    let mut out = HashMap::new();
    for sg in service.into_iter().flatten() {
        let Some(g) = groups.get(&sg) else { continue };
        out.insert(
            g.guid,
            GroupMembers {
                label: g.label().to_string(),
                dn: g.dn.clone(),
                service: true,
                members: member_set(g),
            },
        );
        for m in &g.members {
            let nested = guid_of(m)
                .and_then(|guid| groups.get(&guid))
                .filter(|o| o.kind == ObjectKind::Group);
            if let Some(n) = nested {
                out.entry(n.guid).or_insert_with(|| GroupMembers {
                    label: n.label().to_string(),
                    dn: n.dn.clone(),
                    service: false,
                    members: member_set(n),
                });
            }
        }
    }
    Membership { groups: out }
}

/// The DS204 findings of a read against the last synced one: each group
/// in both that was emptied, or lost more of its members at once than the
/// limits allow. A group no longer in scope at all is not judged here (its
/// list's deletion is counted by the disable/delete threshold, and a
/// missing service group is refused as an unsafe read).
pub fn group_drops(before: &Membership, now: &Membership, t: &Threshold) -> Vec<Finding> {
    let mut out: Vec<(String, Finding)> = Vec::new();
    for (guid, was) in &before.groups {
        let Some(is) = now.groups.get(guid) else {
            continue;
        };
        let removed = was.members.difference(&is.members).count();
        let (b, a) = (was.members.len(), is.members.len());
        if !t.group_dropped(b, a, removed) {
            continue;
        }
        let why = if a == 0 {
            "a group that had members reads as empty".to_string()
        } else {
            format!(
                "{removed} of its members left at once, more than {}% of the group (and at least {})",
                t.group_percent, t.group_min_count
            )
        };
        let kind = if was.service || is.service {
            "service group"
        } else {
            "distribution list"
        };
        out.push((
            is.dn.clone(),
            Finding::new(
                Code::GroupMassChange,
                Some(&is.dn),
                Some(*guid),
                [
                    ("kind", kind.to_string()),
                    ("group", is.label.clone()),
                    ("before", b.to_string()),
                    ("after", a.to_string()),
                    ("why", why),
                ],
            ),
        ));
    }
    out.sort_by(|x, y| x.0.cmp(&y.0));
    out.into_iter().map(|(_, f)| f).collect()
}

/// The empty/partial read guard: `Some(why)` when the read must not be
/// taken as "these objects left". `allow_empty_groups` (the run's threshold
/// override) accepts service groups that were found but have no member, so
/// an administrator can deliberately empty them; a read with no objects at
/// all, or without a service group that synced objects belong to, is
/// always refused.
pub fn unsafe_read(
    s: &DirectorySnapshot,
    anchors: &[Anchor],
    allow_empty_groups: bool,
) -> Option<String> {
    unsafe_read_synced(s, Synced::of(anchors), allow_empty_groups)
}

/// What the read guard needs of the anchors: which kinds of object are
/// synced. A full run takes it from the state store by query
/// (`Store::synced_kinds`) rather than holding every anchor beside the
/// directory read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Synced {
    /// Exchange mailboxes are synced.
    pub exchange_mailboxes: bool,
    /// Rackspace Email mailboxes are synced.
    pub rsemail_mailboxes: bool,
    /// Contacts or lists (Exchange objects) are synced.
    pub exchange_other: bool,
}

impl Synced {
    /// The kinds these anchors hold.
    pub fn of(anchors: &[Anchor]) -> Synced {
        let mut s = Synced::default();
        for a in anchors {
            s.note(a.kind, a.service);
        }
        s
    }

    /// Records an anchor of this kind and service.
    pub fn note(&mut self, kind: TargetKind, service: Service) {
        match (kind, service) {
            (TargetKind::Mailbox, Service::Exchange) => self.exchange_mailboxes = true,
            (TargetKind::Mailbox, Service::RsEmail) => self.rsemail_mailboxes = true,
            _ => self.exchange_other = true,
        }
    }

    /// True when nothing is synced.
    pub fn is_empty(&self) -> bool {
        *self == Synced::default()
    }
}

/// [`unsafe_read`] from what is synced, rather than from every anchor.
pub fn unsafe_read_synced(
    s: &DirectorySnapshot,
    synced: Synced,
    allow_empty_groups: bool,
) -> Option<String> {
    let members = |g: Option<Guid>| {
        g.and_then(|g| s.objects.iter().find(|o| o.guid == g))
            .map(|o| o.members.len())
            .unwrap_or(0)
    };
    unsafe_read_counts(
        ReadCounts {
            objects: s.objects.len(),
            groups: [s.exchange_group, s.rsemail_group],
            members: members(s.exchange_group) + members(s.rsemail_group),
        },
        synced,
        allow_empty_groups,
    )
}

/// What the read guard needs of a read: how many objects it holds, its
/// service groups, and how many members they name together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadCounts {
    /// Objects read.
    pub objects: usize,
    /// The Exchange and Rackspace Email service groups found.
    pub groups: [Option<Guid>; 2],
    /// Members the service groups name, together.
    pub members: usize,
}

/// [`unsafe_read_synced`] from a read's counts: a read staged as it was
/// read (`crate::staged`) is not held to count.
pub fn unsafe_read_counts(
    s: ReadCounts,
    synced: Synced,
    allow_empty_groups: bool,
) -> Option<String> {
    if synced.is_empty() {
        return None;
    }
    if s.objects == 0 {
        return Some(
            "the directory read returned no objects at all while objects are synced".into(),
        );
    }
    if (synced.exchange_mailboxes || synced.exchange_other) && s.groups[0].is_none() {
        return Some("the Hosted Exchange service group was not found in the read while objects of it are synced".into());
    }
    if synced.rsemail_mailboxes && s.groups[1].is_none() {
        return Some("the Rackspace Email service group was not found in the read while objects of it are synced".into());
    }
    if !allow_empty_groups && s.members == 0 {
        return Some(
            "the service groups came back without any member while objects are synced".into(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::tests::{group, snapshot, user};

    /// The read guard from the kinds synced, table: which anchors are
    /// synced, which service groups the read found (and with members),
    /// and the refusal's start, if any.
    #[test]
    fn read_guard_table() {
        let anchor = |kind, service| Anchor {
            guid: Guid::from_canonical_bytes([1; 16]),
            kind,
            service,
            address: dirsync_model::EmailAddress::parse("a@example.com").unwrap(),
            dn: "CN=A,DC=example,DC=com".into(),
            hash: String::new(),
            disabled_at: None,
        };
        let (mbx, contact) = (TargetKind::Mailbox, TargetKind::Contact);
        let (ex, rs) = (Service::Exchange, Service::RsEmail);
        let read = |ex_group: bool, rs_group: bool, members: bool| {
            let us = if members { users(1, 2) } else { vec![] };
            let mut s = snapshot(us.clone(), us, vec![]);
            if !ex_group {
                s.exchange_group = None;
            }
            if !rs_group {
                s.rsemail_group = None;
            }
            s
        };
        /// Name, anchors, read, groups allowed empty, the refusal's start.
        type Case = (
            &'static str,
            Vec<Anchor>,
            DirectorySnapshot,
            bool,
            Option<&'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                "nothing synced",
                vec![],
                DirectorySnapshot::default(),
                false,
                None,
            ),
            (
                "no objects",
                vec![anchor(mbx, ex)],
                DirectorySnapshot::default(),
                false,
                Some("the directory read returned no objects"),
            ),
            (
                "exchange group missing",
                vec![anchor(mbx, ex)],
                read(false, true, true),
                false,
                Some("the Hosted Exchange"),
            ),
            (
                "a contact needs the exchange group",
                vec![anchor(contact, ex)],
                read(false, true, true),
                false,
                Some("the Hosted Exchange"),
            ),
            (
                "rackspace group missing",
                vec![anchor(mbx, rs)],
                read(true, false, true),
                false,
                Some("the Rackspace Email"),
            ),
            (
                "rackspace only, exchange group missing",
                vec![anchor(mbx, rs)],
                read(false, true, true),
                false,
                None,
            ),
            (
                "groups empty",
                vec![anchor(mbx, ex)],
                read(true, true, false),
                false,
                Some("the service groups came back"),
            ),
            (
                "groups empty, allowed",
                vec![anchor(mbx, ex)],
                read(true, true, false),
                true,
                None,
            ),
            (
                "a good read",
                vec![anchor(mbx, ex), anchor(mbx, rs)],
                read(true, true, true),
                false,
                None,
            ),
        ];
        for (name, anchors, s, allow, want) in cases {
            let synced = Synced::of(&anchors);
            let got = unsafe_read_synced(&s, synced, allow);
            assert_eq!(got, unsafe_read(&s, &anchors, allow), "{name}");
            match (got, want) {
                (None, None) => {}
                (Some(why), Some(start)) => assert!(why.starts_with(start), "{name}: {why}"),
                (got, want) => panic!("{name}: {got:?}, want {want:?}"),
            }
        }
    }

    fn users(from: u8, n: u8) -> Vec<DirectoryObject> {
        (from..from + n)
            .map(|i| user(i, &format!("U{i}"), Some(&format!("u{i}@example.com"))))
            .collect()
    }

    /// (name, Exchange group's members before, after, groups flagged)
    #[test]
    fn group_limits_table() {
        let t = Threshold::default();
        let ten = users(1, 10);
        let list = |m: &[DirectoryObject]| {
            group(
                100,
                "Sales",
                Some("sales@example.com"),
                &m.iter().collect::<Vec<_>>(),
            )
        };
        let with_list = |mut v: Vec<DirectoryObject>, members: &[DirectoryObject]| {
            v.push(list(members));
            v
        };
        let rs = users(50, 3);
        type Case = (
            &'static str,
            Vec<DirectoryObject>,
            Vec<DirectoryObject>,
            Vec<&'static str>,
        );
        let cases: Vec<Case> = vec![
            ("nothing changed", ten.clone(), ten.clone(), vec![]),
            ("one leaves", ten.clone(), ten[1..].to_vec(), vec![]),
            (
                "four of ten leave (under the minimum of 5)",
                ten.clone(),
                ten[4..].to_vec(),
                vec![],
            ),
            (
                "five of ten leave (50% > 25%)",
                ten.clone(),
                ten[5..].to_vec(),
                vec!["Exchange Users"],
            ),
            ("emptied", ten.clone(), vec![], vec!["Exchange Users"]),
            (
                "list emptied, service group keeps its members",
                with_list(ten[..3].to_vec(), &ten[..2]),
                with_list(ten[..3].to_vec(), &[]),
                vec!["Sales"],
            ),
            (
                "one-member list emptied",
                with_list(ten[..3].to_vec(), &ten[..1]),
                with_list(ten[..3].to_vec(), &[]),
                vec!["Sales"],
            ),
            (
                "list's only member replaced",
                with_list(ten[..3].to_vec(), &ten[..1]),
                with_list(ten[..3].to_vec(), &ten[1..2]),
                vec![],
            ),
            (
                "list leaves the service group",
                with_list(ten[..3].to_vec(), &ten[..2]),
                ten[..3].to_vec(),
                vec![],
            ),
        ];
        for (name, ex_before, ex_now, want) in cases {
            let b = Membership::of(&snapshot(ex_before, rs.clone(), vec![]));
            let n = Membership::of(&snapshot(ex_now, rs.clone(), vec![]));
            let got: Vec<String> = group_drops(&b, &n, &t)
                .iter()
                .map(|f| f.dn.as_deref().unwrap().split(',').next().unwrap()[3..].to_string())
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn renamed_members_did_not_leave_and_the_message_says_what_happened() {
        let before = users(1, 10);
        let mut moved = before.clone();
        for u in &mut moved {
            u.dn = u.dn.replace("OU=Staff", "OU=Moved");
        }
        let t = Threshold::default();
        let m = |v: Vec<DirectoryObject>| Membership::of(&snapshot(v, vec![], vec![]));
        assert!(group_drops(&m(before.clone()), &m(moved), &t).is_empty());
        let f = group_drops(&m(before), &m(vec![]), &t);
        assert_eq!(
            f[0].message,
            "The service group 'Exchange Users' had 10 member(s) at the last sync and has 0 now: a group that had members reads as empty. Nothing was changed."
        );
    }
}
