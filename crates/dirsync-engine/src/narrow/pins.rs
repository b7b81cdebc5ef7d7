//! Lists planned from their member changes (issue 12): the members of a
//! planned list that did not change are not mapped.
//!
//! A list whose members changed is planned over its whole member list
//! (its control-panel members are compared with the addresses its
//! members will have). A member that no change touched, anchored as a
//! mailbox of the service its service group gives it and not disabled,
//! has in the whole run the address its anchor holds: after a clean run
//! its anchor is what planning it recorded (the address it was created,
//! updated or kept at, DS008 included), and nothing it depends on changed
//! (its scope did not change, or it would have a role; an address claim
//! moving to it fails the narrowed run's claim check, which looks up the
//! replica by address). Such a member is *pinned*: looked up by DN in the
//! replica's keys (its GUID, no object read), its anchor read, and
//! neither mapped nor planned; the mapping's list then names it by GUID
//! ([`pin`]) and the planner counts its anchor's address among the synced
//! ones ([`Desired::pinned`]). A list's added and removed members, and any
//! member that is not such a mailbox, are still read and mapped.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use dirsync_model::{DirectoryObject, Guid};

use super::decide::{Role, Scope};
use crate::engine::{Engine, EngineError};
use crate::types::{Anchor, Desired, Service, TargetKind};

/// The pinned members of a narrowed run's lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Pins {
    /// DN key (trimmed, lower case) -> GUID.
    pub by_dn: HashMap<String, Guid>,
    /// GUID -> the anchor's address, lower case.
    pub address: BTreeMap<Guid, String>,
}

impl Pins {
    /// True when there is no pinned member.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_dn.is_empty()
    }
}

/// What pinning needs of an anchor: its kind, service, whether it is
/// disabled and its address (lower case). The pins' lookup reads these
/// columns alone, not the whole anchor (its DN and hash), for tens of
/// thousands of members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PinAnchor {
    pub kind: TargetKind,
    pub service: Service,
    pub disabled: bool,
    /// The anchor's address, lower case.
    pub address: String,
}

impl From<&Anchor> for PinAnchor {
    fn from(a: &Anchor) -> Self {
        PinAnchor {
            kind: a.kind,
            service: a.service,
            disabled: a.disabled_at.is_some(),
            address: a.address.lower().to_string(),
        }
    }
}

/// One object the replica's keys hold at a candidate's DN, with its
/// anchor if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PinRow {
    pub guid: Guid,
    /// The DN key (trimmed, lower case).
    pub dn: String,
    pub anchor: Option<PinAnchor>,
}

/// True when an unchanged member with this anchor and scope (now, the same
/// as at the last run) is a mailbox the whole run keeps at its anchor's
/// address: anchored as a mailbox of the service its scope gives it, not
/// disabled.
pub(crate) fn pinnable(anchor: Option<&PinAnchor>, scope: Scope) -> bool {
    let Some(a) = anchor else { return false };
    let service = match (scope.ex, scope.rs) {
        (true, false) => Service::Exchange,
        (false, true) => Service::RsEmail,
        _ => return false,
    };
    a.kind == TargetKind::Mailbox && a.service == service && !a.disabled
}

/// The pinned members among `candidates` (DN keys of unchanged members):
/// `found` is what the replica's keys hold for them (GUID, DN key and
/// anchor), a DN that two objects share left out (it is read and the run
/// decides it); `scope` where a DN stands now.
pub(crate) fn pins_of(
    found: Vec<PinRow>,
    scope: impl Fn(&str) -> Scope,
    service_groups: &[Guid],
) -> Pins {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for r in &found {
        *count.entry(r.dn.as_str()).or_default() += 1;
    }
    let shared: HashSet<String> = count
        .into_iter()
        .filter(|(_, n)| *n != 1)
        .map(|(d, _)| d.to_string())
        .collect();
    let mut out = Pins::default();
    for r in found {
        if shared.contains(&r.dn) || service_groups.contains(&r.guid) {
            continue;
        }
        if pinnable(r.anchor.as_ref(), scope(&r.dn)) {
            let a = r.anchor.expect("pinnable has an anchor");
            out.address.insert(r.guid, a.address);
            out.by_dn.insert(r.dn, r.guid);
        }
    }
    out
}

fn dn_key(dn: &str) -> String {
    dn.trim().to_ascii_lowercase()
}

impl Engine {
    /// The pinned members among `wanted` (DN keys of the planned lists'
    /// members no change touched): those in every planned list's members
    /// both at the last run and now (a list's added and removed members
    /// are read), found once in the replica's keys, whose anchor is
    /// [`pinnable`] where they stand now (`after`).
    pub(super) async fn pins(
        &self,
        roles: &BTreeMap<Guid, Role>,
        old: &HashMap<Guid, DirectoryObject>,
        new: &BTreeMap<Guid, DirectoryObject>,
        wanted: &BTreeSet<String>,
        after: &(dyn Fn(&str) -> Scope + Sync),
        service_groups: [Option<Guid>; 2],
    ) -> Result<Pins, EngineError> {
        let mut moving: HashSet<String> = HashSet::new();
        for (g, _) in roles.iter().filter(|(_, r)| **r == Role::List) {
            let members = |o: Option<&DirectoryObject>| -> HashSet<String> {
                o.map(|o| o.members.iter().map(|m| dn_key(m)).collect())
                    .unwrap_or_default()
            };
            let was = members(old.get(g));
            let is = members(new.get(g).or_else(|| old.get(g)));
            moving.extend(was.symmetric_difference(&is).cloned());
        }
        let candidates: Vec<String> = wanted
            .iter()
            .filter(|d| !moving.contains(*d))
            .cloned()
            .collect();
        let found: Vec<PinRow> = self
            .store
            .pin_rows_by_dn(&candidates)
            .await?
            .into_iter()
            .filter(|r| !old.contains_key(&r.guid) && !new.contains_key(&r.guid))
            .collect();
        let groups: Vec<Guid> = service_groups.into_iter().flatten().collect();
        Ok(pins_of(found, after, &groups))
    }
}

/// Names the pinned members in the mapping's lists, as the whole mapping
/// names them (by GUID, not as unresolved DNs), and records the addresses
/// of those named in `d.pinned`.
pub(crate) fn pin(d: &mut Desired, pins: &Pins) {
    if pins.is_empty() {
        return;
    }
    for l in &mut d.lists {
        let mut kept = Vec::with_capacity(l.unresolved_members.len());
        for dn in std::mem::take(&mut l.unresolved_members) {
            match pins.by_dn.get(&dn_key(&dn)) {
                Some(g) => {
                    l.members.insert(*g);
                    d.pinned.insert(*g, pins.address[g].clone());
                }
                None => kept.push(dn),
            }
        }
        l.unresolved_members = kept;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::tests::{group, snapshot, user};
    use crate::mapping::{desired_state, MappingSettings};
    use dirsync_model::EmailAddress;

    fn anchor(n: u8, kind: TargetKind, service: Service, disabled: bool) -> Anchor {
        Anchor {
            guid: Guid::from_canonical_bytes([n; 16]),
            kind,
            service,
            address: EmailAddress::parse("Ann@Example.com").unwrap(),
            dn: "CN=Ann".into(),
            hash: "h".into(),
            disabled_at: disabled.then_some(1),
        }
    }

    use crate::narrow::decide::scopes::{BOTH, EX, NONE, RS};

    /// Table: (case, anchor, scope, pinned?).
    #[test]
    fn only_kept_mailboxes_of_their_service_are_pinned() {
        use Service::{Exchange, RsEmail};
        use TargetKind::{Contact, List, Mailbox};
        let cases = [
            (
                "Exchange mailbox",
                Some((Mailbox, Exchange, false)),
                EX,
                true,
            ),
            ("RS mailbox", Some((Mailbox, RsEmail, false)), RS, true),
            ("no anchor", None, EX, false),
            ("disabled", Some((Mailbox, Exchange, true)), EX, false),
            (
                "out of scope",
                Some((Mailbox, Exchange, false)),
                NONE,
                false,
            ),
            ("other service", Some((Mailbox, RsEmail, false)), EX, false),
            (
                "in both groups",
                Some((Mailbox, Exchange, false)),
                BOTH,
                false,
            ),
            ("a contact", Some((Contact, Exchange, false)), EX, false),
            ("a list", Some((List, Exchange, false)), EX, false),
        ];
        for (what, a, scope, want) in cases {
            let a = a.map(|(k, s, d)| PinAnchor::from(&anchor(1, k, s, d)));
            assert_eq!(pinnable(a.as_ref(), scope), want, "{what}");
        }
    }

    #[test]
    fn a_shared_dn_or_a_service_group_is_not_pinned() {
        let g = |n: u8| Guid::from_canonical_bytes([n; 16]);
        let row = |n: u8, dn: &str| PinRow {
            guid: g(n),
            dn: dn.to_string(),
            anchor: Some(PinAnchor::from(&anchor(
                n,
                TargetKind::Mailbox,
                Service::Exchange,
                false,
            ))),
        };
        let found = vec![
            row(1, "cn=a"),
            row(2, "cn=b"),
            row(3, "cn=b"),
            row(4, "cn=sg"),
        ];
        let p = pins_of(found, |_| EX, &[g(4)]);
        assert_eq!(p.by_dn, HashMap::from([("cn=a".to_string(), g(1))]));
        assert_eq!(
            p.address,
            BTreeMap::from([(g(1), "ann@example.com".to_string())])
        );
    }

    /// A list mapped without its pinned member names it as the whole
    /// mapping does; other unresolved members stay unresolved.
    #[test]
    fn pinning_gives_the_whole_mappings_list() {
        let a = user(1, "Ann", Some("ann@example.com"));
        let b = user(2, "Bob", Some("bob@example.com"));
        let mut l = group(3, "Team", Some("team@example.com"), &[&a, &b]);
        l.members.push("CN=Nobody,DC=x".into());
        let all = snapshot(vec![a, b.clone(), l], vec![], vec![]);
        let whole = desired_state(&all, MappingSettings::default());
        // The service groups as they are, the member left out.
        let mut some = all;
        some.objects.retain(|o| o.guid != b.guid);
        let mut narrow = desired_state(&some, MappingSettings::default());
        assert_ne!(narrow.lists, whole.lists);
        let pins = Pins {
            by_dn: HashMap::from([(dn_key(&b.dn), b.guid)]),
            address: BTreeMap::from([(b.guid, "bob@example.com".to_string())]),
        };
        pin(&mut narrow, &pins);
        assert_eq!(narrow.lists, whole.lists);
        assert_eq!(
            narrow.pinned,
            BTreeMap::from([(b.guid, "bob@example.com".to_string())])
        );
        assert_eq!(
            narrow.lists[0].unresolved_members,
            vec!["CN=Nobody,DC=x".to_string()]
        );
    }
}
