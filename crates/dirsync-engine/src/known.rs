//! Planning from what dirsync knows, reading what it must (pure).
//!
//! The documented API's list pages carry names and display names only, and
//! a GET of one object is a scarce resource (60 a minute). So the target
//! state the planner sees is assembled from:
//!
//! - the listings ([`Listed`]): which objects exist, their display names,
//!   and which mailbox each single-member alias forwards to;
//! - the state store: an anchored object whose desired state hashes to what
//!   dirsync last wrote (the anchor's hash) is taken to be as last written,
//!   so the planner sees no difference and nothing is written;
//! - the details of the objects that were read ([`Details`]): objects whose
//!   desired state changed, existing objects being adopted, objects whose
//!   listed display name shows a hand edit, and the verification sample.
//!
//! Which objects need reading is found by planning once against the
//! assembled state without details ([`reads_needed`]): every object the
//! planner would anchor afresh (new hash, new address, adoption) is one
//! whose details matter. The engine then reads those, assembles again
//! ([`assemble`]) and plans for real.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use dirsync_model::{EmailAddress, Guid};

use crate::plan::OpSink;
use crate::reader::{Details, Listing, ObjectRef, Summary};
use crate::types::*;

/// What the listings said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listed {
    pub domains: Vec<TargetDomain>,
    /// Every item, by listing and lower-case address.
    pub items: ListedItems,
}

/// Listing items by listing and lower-case address, each once, in that
/// order: a sorted vector, looked up by binary search.
///
/// Why: held as a `BTreeMap` keyed by listing and a copy of the lower-case
/// address, the items of a control panel with 10,000 users took 2.9 MB of
/// tree nodes and keys (heaptrack) beside the items themselves; sorted,
/// the key is the item's own address. The order, and which of two items
/// of one key stays (the later), are the map's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListedItems(Vec<(Listing, Summary)>);

impl ListedItems {
    fn find(&self, l: Listing, lower: &str) -> Result<usize, usize> {
        self.0
            .binary_search_by(|(x, s)| (*x, s.address.lower()).cmp(&(l, lower)))
    }

    /// The item of `listing` at the lower-case address `lower`.
    pub fn get(&self, listing: Listing, lower: &str) -> Option<&Summary> {
        self.find(listing, lower).ok().map(|i| &self.0[i].1)
    }

    /// Adds an item, or replaces the item of its listing and address.
    pub fn insert(&mut self, listing: Listing, s: Summary) {
        match self.find(listing, s.address.lower()) {
            Ok(i) => self.0[i].1 = s,
            Err(i) => self.0.insert(i, (listing, s)),
        }
    }

    /// Removes the item of `listing` at the lower-case address `lower`.
    pub fn remove(&mut self, listing: Listing, lower: &str) -> Option<Summary> {
        self.find(listing, lower).ok().map(|i| self.0.remove(i).1)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The items in order, with their listing.
    pub fn iter(&self) -> impl Iterator<Item = (Listing, &Summary)> {
        self.0.iter().map(|(l, s)| (*l, s))
    }
}

impl FromIterator<(Listing, Summary)> for ListedItems {
    fn from_iter<I: IntoIterator<Item = (Listing, Summary)>>(it: I) -> Self {
        let mut v: Vec<(Listing, Summary)> = it.into_iter().collect();
        // Stable, then the later of two items of one key stays (as
        // inserting them into a map keeps it).
        v.sort_by(|(a, x), (b, y)| (*a, x.address.lower()).cmp(&(*b, y.address.lower())));
        // In place: of two equal neighbours the earlier slot takes the
        // later item, and the later slot goes.
        v.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0 && later.1.address.lower() == earlier.1.address.lower();
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        v.shrink_to_fit();
        ListedItems(v)
    }
}

/// The items of a map keyed by listing and lower-case address (a narrowed
/// run's): the key is the item's own address.
impl From<BTreeMap<(Listing, String), Summary>> for ListedItems {
    fn from(m: BTreeMap<(Listing, String), Summary>) -> Self {
        m.into_iter().map(|((l, _), s)| (l, s)).collect()
    }
}

pub(crate) fn listing_of(o: ObjectRef) -> Listing {
    match o {
        ObjectRef::Mailbox(Service::Exchange) => Listing::ExMailboxes,
        ObjectRef::Mailbox(Service::RsEmail) => Listing::RsMailboxes,
        ObjectRef::Contact => Listing::ExContacts,
        ObjectRef::List => Listing::ExLists,
    }
}

impl Listed {
    /// The list item of this object, if it exists.
    pub fn get(&self, o: ObjectRef, address: &EmailAddress) -> Option<&Summary> {
        self.items.get(listing_of(o), address.lower())
    }

    /// Forgets an object that a GET found gone.
    pub fn remove(&mut self, o: ObjectRef, address: &EmailAddress) {
        self.items.remove(listing_of(o), address.lower());
    }

    /// The number of objects listed.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Details read this run, by object and lower-case address.
pub type DetailMap = HashMap<(ObjectRef, String), Details>;

/// A desired object of any kind.
#[derive(Clone, Copy)]
enum Want<'a> {
    Mailbox(&'a DesiredMailbox),
    Contact(&'a DesiredContact),
    List(&'a DesiredList),
}

impl Want<'_> {
    fn display_name(&self) -> &str {
        match self {
            Want::Mailbox(m) => m.fields.get("displayName").map_or("", |s| s.as_str()),
            Want::Contact(c) => c.fields.get("displayName").map_or("", |s| s.as_str()),
            Want::List(l) => &l.display_name,
        }
    }
}

fn wanted(desired: &Desired) -> HashMap<Guid, Want<'_>> {
    let mut w = HashMap::new();
    for m in &desired.mailboxes {
        w.insert(m.guid, Want::Mailbox(m));
    }
    for c in &desired.contacts {
        w.insert(c.guid, Want::Contact(c));
    }
    for l in &desired.lists {
        w.insert(l.guid, Want::List(l));
    }
    w
}

/// Why an object's details are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReadWhy {
    /// Its desired state differs from what dirsync last wrote (or it moved).
    Changed,
    /// An existing object that is not anchored yet is being adopted.
    Adopt,
    /// Its listed display name is not the one dirsync wrote: a hand edit.
    ListedDrift,
    /// The rolling verification.
    Verify,
}

/// One GET of one object to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub guid: Guid,
    pub object: ObjectRef,
    pub address: EmailAddress,
    pub why: ReadWhy,
}

/// Assembles the target state the planner compares against. Objects with
/// details are taken from them; anchored objects of desired ones as
/// dirsync last wrote them (the desired state itself: see the module
/// documentation), with `list_members` for lists; everything else from its
/// list item only.
pub fn assemble(
    listed: &Listed,
    desired: &Desired,
    anchors: &[Anchor],
    details: &DetailMap,
    list_members: &HashMap<String, BTreeSet<String>>,
) -> TargetState {
    let want = wanted(desired);
    // Keys borrowed from the anchors (copies were 10 MB at 100,000 users).
    let anchored: HashMap<(ObjectRef, &str), &Anchor> = anchors
        .iter()
        .map(|a| ((ObjectRef::of(a.kind, a.service), a.address.lower()), a))
        .collect();
    let mut t = TargetState {
        domains: listed.domains.clone(),
        ..TargetState::default()
    };
    for (listing, s) in listed.items.iter() {
        let key = s.address.lower();
        let Some(object) = listing.object() else {
            let targets: BTreeSet<String> = s.single_member.iter().cloned().collect();
            t.aliases.push(TargetAlias {
                address: s.address.clone(),
                targets,
            });
            continue;
        };
        let detail = match details.is_empty() {
            true => None,
            false => details.get(&(object, key.to_string())),
        };
        if let Some(d) = detail {
            match d.clone() {
                Details::Mailbox(m) => t.mailboxes.push(m),
                Details::Contact(c) => t.contacts.push(c),
                Details::List(l) => t.lists.push(l),
            }
            continue;
        }
        let anchor = anchored.get(&(object, key)).copied();
        let w = anchor.and_then(|a| want.get(&a.guid).copied());
        let listed_name = || {
            let mut f = Fields::new();
            f.insert("displayName".into(), s.display_name.clone());
            f
        };
        match (object, w) {
            (ObjectRef::Mailbox(service), Some(Want::Mailbox(m))) => {
                t.mailboxes.push(TargetMailbox {
                    service,
                    address: s.address.clone(),
                    enabled: m.enabled,
                    // The fields and (Exchange) alternates are read from the
                    // desired state by the planner; Rackspace Email
                    // alternates are aliases, read from their listing.
                    fields: Fields::new(),
                    written_as: Some(m.guid),
                    addresses: AddressSet::new(),
                });
            }
            (ObjectRef::Mailbox(service), _) => t.mailboxes.push(TargetMailbox {
                service,
                address: s.address.clone(),
                // A mailbox dirsync disabled stays disabled; others are taken as enabled.
                enabled: anchor.is_none_or(|a| a.disabled_at.is_none()),
                fields: listed_name(),
                addresses: AddressSet::new(),
                written_as: None,
            }),
            (ObjectRef::Contact, Some(Want::Contact(c))) => t.contacts.push(TargetContact {
                address: s.address.clone(),
                external: c.external.to_string(),
                fields: c.fields.clone(),
            }),
            (ObjectRef::Contact, _) => t.contacts.push(TargetContact {
                address: s.address.clone(),
                external: String::new(),
                fields: listed_name(),
            }),
            (ObjectRef::List, Some(Want::List(l))) => t.lists.push(TargetList {
                address: s.address.clone(),
                display_name: l.display_name.clone(),
                addresses: BTreeSet::new(),
                members: list_members.get(key).cloned().unwrap_or_default(),
            }),
            (ObjectRef::List, _) => t.lists.push(TargetList {
                address: s.address.clone(),
                display_name: s.display_name.clone(),
                addresses: BTreeSet::new(),
                members: BTreeSet::new(),
            }),
        }
    }
    t
}

/// The members each list has when it is as dirsync last wrote it, taken
/// from a plan against lists assembled without members: every member it
/// wants is then an addition.
pub fn wanted_members(first: &Plan) -> HashMap<String, BTreeSet<String>> {
    let mut m = WantedMembers::default();
    for o in &first.ops {
        m.op(o.clone());
    }
    m.0
}

/// [`wanted_members`] as a first plan's [`OpSink`]: it keeps the lists'
/// member additions it needs and none of the plan's other operations.
#[derive(Debug, Default)]
pub struct WantedMembers(pub HashMap<String, BTreeSet<String>>);

impl OpSink for WantedMembers {
    fn op(&mut self, o: PlanOp) {
        if o.kind == TargetKind::List && o.op == OpKind::AddMember {
            if let Some(a) = o.address {
                self.0
                    .entry(o.target.lower().to_string())
                    .or_default()
                    .insert(a);
            }
        }
    }
}

/// The GETs of one object this run needs, from a first plan against the
/// state assembled without details: objects the planner would anchor with
/// a new hash or address (their desired state changed, or they are being
/// adopted), objects whose listed display name is not the one dirsync
/// wrote; then, within `budget`, the verification sample: the synced
/// objects verified longest ago (never verified first).
pub fn reads_needed(
    first: &Plan,
    desired: &Desired,
    anchors: &[Anchor],
    listed: &Listed,
    verified: &HashMap<Guid, i64>,
    budget: usize,
) -> Vec<Read> {
    let want = wanted(desired);
    let by_guid: HashMap<Guid, &Anchor> = anchors.iter().map(|a| (a.guid, a)).collect();
    let mut out: Vec<Read> = Vec::new();
    let mut seen: HashSet<(ObjectRef, String)> = HashSet::new();
    let mut push = |out: &mut Vec<Read>, guid, object, address: &EmailAddress, why| {
        if listed.get(object, address).is_some()
            && seen.insert((object, address.lower().to_string()))
        {
            out.push(Read {
                guid,
                object,
                address: address.clone(),
                why,
            });
        }
    };
    for u in &first.anchors {
        let Some(new) = &u.anchor else { continue };
        if !want.contains_key(&u.guid) {
            continue;
        }
        let old = by_guid.get(&u.guid).copied();
        let changed = old.is_none_or(|o| {
            o.hash != new.hash
                || o.address != new.address
                || o.kind != new.kind
                || o.service != new.service
        });
        if !changed {
            continue;
        }
        let why = if old.is_some() {
            ReadWhy::Changed
        } else {
            ReadWhy::Adopt
        };
        push(
            &mut out,
            u.guid,
            ObjectRef::of(new.kind, new.service),
            &new.address,
            why,
        );
        if let Some(o) = old.filter(|o| o.address != new.address || o.kind != new.kind) {
            push(
                &mut out,
                u.guid,
                ObjectRef::of(o.kind, o.service),
                &o.address,
                why,
            );
        }
    }
    // A display name edited by hand shows in the listing itself.
    let mut sample: Vec<(&Anchor, Option<i64>)> = Vec::new();
    for a in anchors {
        let Some(w) = want.get(&a.guid) else { continue };
        let object = ObjectRef::of(a.kind, a.service);
        let Some(s) = listed.get(object, &a.address) else {
            continue;
        };
        if s.display_name != w.display_name() && !w.display_name().is_empty() {
            push(&mut out, a.guid, object, &a.address, ReadWhy::ListedDrift);
        } else {
            sample.push((a, verified.get(&a.guid).copied()));
        }
    }
    sample.sort_by_key(|(a, at)| (at.is_some(), *at, a.guid));
    let mut left = budget;
    for (a, _) in sample {
        if left == 0 {
            break;
        }
        let before = out.len();
        push(
            &mut out,
            a.guid,
            ObjectRef::of(a.kind, a.service),
            &a.address,
            ReadWhy::Verify,
        );
        if out.len() > before {
            left -= 1;
        }
    }
    out
}

/// Forgets "what dirsync last wrote" for objects the planner has a finding
/// for: their hash is cleared, so the next run reads them again instead of
/// taking them as written (an address refused, a member without mailbox).
/// The plan's first `mapping_findings` findings are the mapping's, about
/// the directory's data: reading the control panel again would not change
/// them, so they are left out.
pub fn distrust_findings(p: &mut Plan, mapping_findings: usize) {
    let flagged: HashSet<Guid> = p
        .findings
        .iter()
        .skip(mapping_findings)
        .filter_map(|f| f.guid)
        .collect();
    for u in &mut p.anchors {
        if let Some(a) = &mut u.anchor {
            if flagged.contains(&u.guid) {
                a.hash.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{plan, state_hash, PlanSettings};

    fn g(n: u8) -> Guid {
        Guid::from_canonical_bytes([n; 16])
    }
    fn addr(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }
    fn domain() -> TargetDomain {
        TargetDomain {
            name: dirsync_model::DomainName::parse("example.com").unwrap(),
            exchange: true,
            rs_email: true,
            exchange_limit: 10,
            exchange_used: 0,
            rs_email_limit: 10,
            rs_email_used: 0,
            aliases: vec![],
            accepted: vec![],
        }
    }
    fn mailbox(n: u8, a: &str, display: &str) -> DesiredMailbox {
        let mut fields = Fields::new();
        fields.insert("displayName".into(), display.into());
        DesiredMailbox {
            guid: g(n),
            dn: format!("CN={display},DC=x"),
            label: display.into(),
            service: Service::Exchange,
            address: addr(a),
            enabled: true,
            fields,
            alternates: AddressSet::new(),
        }
    }
    fn anchor_of(m: &DesiredMailbox) -> Anchor {
        Anchor {
            guid: m.guid,
            kind: TargetKind::Mailbox,
            service: m.service,
            address: m.address.clone(),
            dn: m.dn.clone(),
            hash: state_hash(m),
            disabled_at: None,
        }
    }
    fn listed(items: &[(Listing, &str, &str)]) -> Listed {
        Listed {
            domains: vec![domain()],
            items: items
                .iter()
                .map(|(l, a, d)| {
                    (
                        *l,
                        Summary {
                            address: addr(a),
                            display_name: d.to_string(),
                            members: 0,
                            single_member: None,
                        },
                    )
                })
                .collect(),
        }
    }
    fn desired(ms: Vec<DesiredMailbox>) -> Desired {
        Desired {
            in_scope: ms.iter().map(|m| m.guid).collect(),
            mailboxes: ms,
            ..Desired::default()
        }
    }

    /// Table: the listing items behave as the map they replace (order by
    /// listing then lower-case address, the later of one key kept, get,
    /// remove), whether collected, inserted or converted from the map.
    #[test]
    fn listed_items_behave_as_the_map() {
        let ex = Listing::ExMailboxes;
        let rs = Listing::RsAliases;
        let item = |a: &str, d: &str| Summary {
            address: addr(a),
            display_name: d.to_string(),
            members: 0,
            single_member: None,
        };
        // (case, items added (listing, address, display name), then removed)
        type Case = (
            &'static str,
            Vec<(Listing, &'static str, &'static str)>,
            Vec<(Listing, &'static str)>,
        );
        let cases: Vec<Case> = vec![
            ("empty", vec![], vec![(ex, "a@example.com")]),
            (
                "order: listing, then address",
                vec![
                    (rs, "a@example.com", ""),
                    (ex, "c@example.com", "C"),
                    (ex, "B@example.com", "B"),
                    (ex, "a@example.com", "A"),
                ],
                vec![(ex, "b@example.com"), (rs, "a@example.com")],
            ),
            (
                "one key twice (case aside): the later stays",
                vec![
                    (ex, "a@example.com", "first"),
                    (ex, "b@example.com", "B"),
                    (ex, "A@EXAMPLE.com", "second"),
                    (ex, "a@example.com", "third"),
                ],
                vec![(ex, "a@example.com"), (ex, "z@example.com")],
            ),
        ];
        for (name, xs, removes) in cases {
            let mut map: BTreeMap<(Listing, String), Summary> = BTreeMap::new();
            let mut inserted = ListedItems::default();
            for (l, a, d) in &xs {
                map.insert((*l, a.to_ascii_lowercase()), item(a, d));
                inserted.insert(*l, item(a, d));
            }
            let collected: ListedItems = xs.iter().map(|(l, a, d)| (*l, item(a, d))).collect();
            let converted = ListedItems::from(map.clone());
            let want: Vec<(Listing, String, String)> = map
                .iter()
                .map(|((l, _), s)| (*l, s.address.to_string(), s.display_name.clone()))
                .collect();
            for (how, got) in [
                ("inserted", &inserted),
                ("collected", &collected),
                ("converted", &converted),
            ] {
                let got: Vec<(Listing, String, String)> = got
                    .iter()
                    .map(|(l, s)| (l, s.address.to_string(), s.display_name.clone()))
                    .collect();
                assert_eq!(got, want, "{name}: {how}");
            }
            for (l, a) in removes {
                let key = (l, a.to_string());
                assert_eq!(inserted.get(l, a), map.get(&key), "{name}: get {a}");
                assert_eq!(
                    inserted.remove(l, a),
                    map.remove(&key),
                    "{name}: remove {a}"
                );
                assert_eq!(inserted.len(), map.len(), "{name}: len after {a}");
            }
        }
    }

    /// Table: what a first plan makes the engine read.
    #[test]
    fn reads_follow_changes_adoption_drift_and_budget() {
        let settings = PlanSettings::default();
        let a = mailbox(1, "a@example.com", "A");
        let b = mailbox(2, "b@example.com", "B");
        let c = mailbox(3, "c@example.com", "C");
        struct Case {
            name: &'static str,
            desired: Vec<DesiredMailbox>,
            anchors: Vec<Anchor>,
            items: Vec<(Listing, &'static str, &'static str)>,
            verified: Vec<(u8, i64)>,
            budget: usize,
            want: Vec<(&'static str, ReadWhy)>,
        }
        let mut a2 = a.clone();
        a2.fields.insert("title".into(), "Boss".into());
        let ex = Listing::ExMailboxes;
        let cases = vec![
            Case {
                name: "idle: all as written, no budget",
                desired: vec![a.clone(), b.clone()],
                anchors: vec![anchor_of(&a), anchor_of(&b)],
                items: vec![(ex, "a@example.com", "A"), (ex, "b@example.com", "B")],
                verified: vec![],
                budget: 0,
                want: vec![],
            },
            Case {
                name: "one changed object is read, the other is not",
                desired: vec![a2.clone(), b.clone()],
                anchors: vec![anchor_of(&a), anchor_of(&b)],
                items: vec![(ex, "a@example.com", "A"), (ex, "b@example.com", "B")],
                verified: vec![],
                budget: 0,
                want: vec![("a@example.com", ReadWhy::Changed)],
            },
            Case {
                name: "a new object that does not exist needs no read",
                desired: vec![a.clone(), c.clone()],
                anchors: vec![anchor_of(&a)],
                items: vec![(ex, "a@example.com", "A")],
                verified: vec![],
                budget: 0,
                want: vec![],
            },
            Case {
                name: "an existing unanchored mailbox is adopted with one read",
                desired: vec![a.clone(), c.clone()],
                anchors: vec![anchor_of(&a)],
                items: vec![(ex, "a@example.com", "A"), (ex, "c@example.com", "C")],
                verified: vec![],
                budget: 0,
                want: vec![("c@example.com", ReadWhy::Adopt)],
            },
            Case {
                name: "a display name edited by hand shows in the listing",
                desired: vec![a.clone(), b.clone()],
                anchors: vec![anchor_of(&a), anchor_of(&b)],
                items: vec![(ex, "a@example.com", "A"), (ex, "b@example.com", "Bob")],
                verified: vec![],
                budget: 0,
                want: vec![("b@example.com", ReadWhy::ListedDrift)],
            },
            Case {
                name: "verification: never verified first, then the oldest, within budget",
                desired: vec![a.clone(), b.clone(), c.clone()],
                anchors: vec![anchor_of(&a), anchor_of(&b), anchor_of(&c)],
                items: vec![
                    (ex, "a@example.com", "A"),
                    (ex, "b@example.com", "B"),
                    (ex, "c@example.com", "C"),
                ],
                verified: vec![(1, 500), (2, 100)],
                budget: 2,
                want: vec![
                    ("c@example.com", ReadWhy::Verify),
                    ("b@example.com", ReadWhy::Verify),
                ],
            },
            Case {
                name: "a changed object is not verified twice; gone objects are not read",
                desired: vec![a2.clone(), b.clone()],
                anchors: vec![anchor_of(&a), anchor_of(&b)],
                items: vec![(ex, "a@example.com", "A")],
                verified: vec![],
                budget: 5,
                want: vec![("a@example.com", ReadWhy::Changed)],
            },
        ];
        for c in cases {
            let d = desired(c.desired);
            let l = listed(&c.items);
            let t = assemble(&l, &d, &c.anchors, &DetailMap::new(), &HashMap::new());
            let first = plan(&d, &t, &c.anchors, &settings);
            let verified = c.verified.iter().map(|(n, t)| (g(*n), *t)).collect();
            let got: Vec<(String, ReadWhy)> =
                reads_needed(&first, &d, &c.anchors, &l, &verified, c.budget)
                    .into_iter()
                    .map(|r| (r.address.to_string(), r.why))
                    .collect();
            let want: Vec<(String, ReadWhy)> =
                c.want.iter().map(|(a, w)| (a.to_string(), *w)).collect();
            assert_eq!(got, want, "{}", c.name);
        }
    }

    /// Objects as last written plan to nothing; details read show the real state.
    #[test]
    fn assembled_state_plans_nothing_for_written_objects() {
        let settings = PlanSettings::default();
        let mut a = mailbox(1, "a@example.com", "A");
        a.alternates.insert(addr("alt@example.com"));
        let anchors = vec![anchor_of(&a)];
        let d = desired(vec![a.clone()]);
        let l = listed(&[(Listing::ExMailboxes, "a@example.com", "A")]);
        let t = assemble(&l, &d, &anchors, &DetailMap::new(), &HashMap::new());
        // No copy of the desired fields and alternates: the planner reads them.
        let tm = &t.mailboxes[0];
        assert!(tm.fields.is_empty() && tm.addresses.is_empty(), "{tm:#?}");
        assert_eq!(tm.written_as, Some(a.guid));
        let p = plan(&d, &t, &anchors, &settings);
        assert!(p.ops.is_empty() && p.anchors.is_empty(), "{p:#?}");

        // The details show the alternate removed by hand: it is added back.
        let mut details = DetailMap::new();
        let mut fields = Fields::new();
        fields.insert("displayName".into(), "A".into());
        details.insert(
            (
                ObjectRef::Mailbox(Service::Exchange),
                "a@example.com".into(),
            ),
            Details::Mailbox(TargetMailbox {
                service: Service::Exchange,
                address: addr("a@example.com"),
                enabled: true,
                fields,
                addresses: AddressSet::new(),
                written_as: None,
            }),
        );
        let t = assemble(&l, &d, &anchors, &details, &HashMap::new());
        let p = plan(&d, &t, &anchors, &settings);
        let ops: Vec<(OpKind, Option<String>)> =
            p.ops.iter().map(|o| (o.op, o.address.clone())).collect();
        assert_eq!(
            ops,
            vec![(OpKind::AddAddress, Some("alt@example.com".into()))]
        );
    }

    #[test]
    fn findings_clear_the_written_hash() {
        let mut p = Plan {
            anchors: vec![AnchorUpdate {
                guid: g(1),
                anchor: Some(anchor_of(&mailbox(1, "a@example.com", "A"))),
                after: vec![],
            }],
            findings: vec![dirsync_model::Finding::new(
                dirsync_model::Code::AddressInUse,
                Some("CN=A,DC=x"),
                Some(g(1)),
                [
                    ("action", "Update".to_string()),
                    ("kind", "user".to_string()),
                    ("object", "A".to_string()),
                    ("address", "x@example.com".to_string()),
                ],
            )],
            ..Plan::default()
        };
        let mut mapping_only = p.clone();
        distrust_findings(&mut mapping_only, 1);
        assert_ne!(mapping_only.anchors[0].anchor.as_ref().unwrap().hash, "");
        distrust_findings(&mut p, 0);
        assert_eq!(p.anchors[0].anchor.as_ref().unwrap().hash, "");
    }
}
