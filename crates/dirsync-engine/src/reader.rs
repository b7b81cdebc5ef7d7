//! Reading the control panel the way the documented Cloud Office API
//! allows, and no more.
//!
//! The documented API lists objects in pages of at most 250, and a list item
//! carries only its `name` and `displayName` (aliases also their member
//! count and, with one member, that member). Everything else — fields,
//! alternate addresses, list members — needs one GET per object, and the
//! service allows 60 GETs a minute per key. The engine therefore reads
//! through [`TargetReader`]: the domains, the names (with the documented
//! summary fields) per kind and domain, and the details of one object when
//! a decision needs them (see [`crate::known`]).
//!
//! [`ClientReader`] is the one implementation over the API client. It is
//! kept small and in one place so that it can follow the client's wire
//! types without touching the planning.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use cloudoffice_api::client::{Client, ClientError};
use cloudoffice_api::{paths, types as api};
use dirsync_model::{DomainName, EmailAddress, Guid};
use serde::de::DeserializeOwned;

use crate::known::{self, DetailMap, Listed, Read};
use crate::plan::{plan_into, PlanSettings};
use crate::spill::{SpillWriter, SpilledOps};
use crate::target;
use crate::types::*;

/// One list call of the documented API (per domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Listing {
    ExMailboxes,
    RsMailboxes,
    ExContacts,
    ExLists,
    RsAliases,
}

impl Listing {
    /// The listings a domain with these services has.
    pub fn for_domain(d: &TargetDomain) -> Vec<Listing> {
        let mut v = Vec::new();
        if d.exchange {
            v.extend([Listing::ExMailboxes, Listing::ExContacts, Listing::ExLists]);
        }
        if d.rs_email {
            v.extend([Listing::RsMailboxes, Listing::RsAliases]);
        }
        v
    }

    /// The kind of object this listing holds (`None` for aliases, which
    /// belong to the Rackspace Email mailboxes they forward to).
    pub fn object(self) -> Option<ObjectRef> {
        match self {
            Listing::ExMailboxes => Some(ObjectRef::Mailbox(Service::Exchange)),
            Listing::RsMailboxes => Some(ObjectRef::Mailbox(Service::RsEmail)),
            Listing::ExContacts => Some(ObjectRef::Contact),
            Listing::ExLists => Some(ObjectRef::List),
            Listing::RsAliases => None,
        }
    }
}

/// Which kind of object a GET of one reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectRef {
    Mailbox(Service),
    Contact,
    List,
}

impl ObjectRef {
    /// The object an anchor points at.
    pub fn of(kind: TargetKind, service: Service) -> ObjectRef {
        match kind {
            TargetKind::Mailbox => ObjectRef::Mailbox(service),
            TargetKind::Contact => ObjectRef::Contact,
            TargetKind::List => ObjectRef::List,
        }
    }
}

/// A list item: what the documented list pages carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `name@domain`.
    pub address: EmailAddress,
    /// `displayName` (empty for aliases, whose items carry none).
    pub display_name: String,
    /// Aliases only: the number of members (`numberOfMembers`).
    pub members: u32,
    /// Aliases only: the member when there is exactly one (`singleMemberName`), lower case.
    pub single_member: Option<String>,
}

/// The details of one object (a GET of one), in the engine's types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Details {
    Mailbox(TargetMailbox),
    Contact(TargetContact),
    List(TargetList),
}

/// How many GETs the reader made (each GET counted once, retries aside).
#[derive(Debug, Default)]
pub struct ReadCounts {
    /// List pages (domains included).
    pub pages: AtomicU64,
    /// GETs of one object.
    pub objects: AtomicU64,
}

impl ReadCounts {
    pub fn pages(&self) -> u64 {
        self.pages.load(Ordering::Relaxed)
    }
    pub fn objects(&self) -> u64 {
        self.objects.load(Ordering::Relaxed)
    }
}

/// What the engine may read from the control panel.
pub trait TargetReader: Sync {
    /// The customer's domains with their services, licences, domain aliases
    /// and accepted domains.
    fn domains(&self) -> impl Future<Output = Result<Vec<TargetDomain>, ClientError>> + Send;
    /// Every item of one listing of `domain` (all pages).
    fn names(
        &self,
        domain: &DomainName,
        listing: Listing,
    ) -> impl Future<Output = Result<Vec<Summary>, ClientError>> + Send;
    /// The details of one object, `None` when it does not exist.
    fn details(
        &self,
        object: ObjectRef,
        address: &EmailAddress,
    ) -> impl Future<Output = Result<Option<Details>, ClientError>> + Send;
    /// The GETs made so far.
    fn counts(&self) -> &ReadCounts;
}

/// [`TargetReader`] over the API client.
///
/// The one place that knows the client's list and get-one calls: when the
/// client gains summary list methods and typed get-one methods, only the
/// bodies below change.
pub struct ClientReader<'a> {
    pub client: &'a Client,
    pub customer: &'a str,
    pub counts: ReadCounts,
}

impl<'a> ClientReader<'a> {
    pub fn new(client: &'a Client, customer: &'a str) -> Self {
        ClientReader {
            client,
            customer,
            counts: ReadCounts::default(),
        }
    }

    /// Every page of a list call, counting the pages.
    async fn pages<P: DeserializeOwned, T>(
        &self,
        path: &str,
        items: impl Fn(P) -> (Vec<T>, u32),
    ) -> Result<Vec<T>, ClientError> {
        self.client
            .list_all(path, |page: P| {
                self.counts.pages.fetch_add(1, Ordering::Relaxed);
                items(page)
            })
            .await
    }

    /// A GET of one, `None` on 404.
    async fn one<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, ClientError> {
        self.counts.objects.fetch_add(1, Ordering::Relaxed);
        self.client.get_one(path).await
    }
}

fn summary(name: &str, domain: &DomainName, display_name: &str) -> Option<Summary> {
    Some(Summary {
        address: EmailAddress::parse(&format!("{name}@{domain}")).ok()?,
        display_name: display_name.to_string(),
        members: 0,
        single_member: None,
    })
}

impl TargetReader for ClientReader<'_> {
    async fn domains(&self) -> Result<Vec<TargetDomain>, ClientError> {
        let all = self
            .pages(&paths::domains(self.customer), |p: api::DomainList| {
                (p.domains, p.total)
            })
            .await?;
        Ok(all.iter().filter_map(target::domain).collect())
    }

    async fn names(
        &self,
        domain: &DomainName,
        listing: Listing,
    ) -> Result<Vec<Summary>, ClientError> {
        let (c, d) = (self.customer, domain.as_str());
        // Every listing's items are `ListItem`s; only the documented summary
        // fields are taken from them.
        let items: Vec<api::ListItem> = match listing {
            Listing::ExMailboxes => {
                self.pages(&paths::ex_mailboxes(c, d), |p: api::ExchangeMailboxList| {
                    (p.mailboxes, p.total)
                })
                .await?
            }
            Listing::RsMailboxes => {
                self.pages(&paths::rs_mailboxes(c, d), |p: api::RsMailboxList| {
                    (p.rs_mailboxes, p.total)
                })
                .await?
            }
            Listing::ExContacts => {
                self.pages(&paths::ex_contacts(c, d), |p: api::ExchangeContactList| {
                    (p.contacts, p.total)
                })
                .await?
            }
            Listing::ExLists => {
                self.pages(&paths::ex_lists(c, d), |p: api::DistributionListList| {
                    (p.distribution_lists, p.total)
                })
                .await?
            }
            Listing::RsAliases => {
                self.pages(&paths::rs_aliases(c, d), |p: api::RsAliasList| {
                    (p.aliases, p.total)
                })
                .await?
            }
        };
        if listing != Listing::RsAliases {
            return Ok(items
                .iter()
                .filter_map(|m| {
                    summary(
                        &m.name,
                        domain,
                        m.display_name.as_deref().unwrap_or_default(),
                    )
                })
                .collect());
        }
        // numberOfMembers and singleMemberName, as documented.
        Ok(items
            .iter()
            .filter_map(|a| {
                let mut s = summary(&a.name, domain, "")?;
                s.members = a
                    .extra
                    .get("numberOfMembers")
                    .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
                    .unwrap_or(0) as u32;
                if s.members == 1 {
                    s.single_member = a
                        .extra
                        .get("singleMemberName")
                        .and_then(|v| v.as_str())
                        .map(|one| one.trim().to_ascii_lowercase());
                }
                Some(s)
            })
            .collect())
    }

    async fn details(
        &self,
        object: ObjectRef,
        address: &EmailAddress,
    ) -> Result<Option<Details>, ClientError> {
        let (c, domain) = (self.customer, address.domain());
        let (d, n) = (domain.as_str(), address.local_part());
        Ok(match object {
            ObjectRef::Mailbox(Service::Exchange) => self
                .one::<api::ExchangeMailbox>(&paths::ex_mailbox(c, d, n))
                .await?
                .and_then(|m| target::exchange_mailbox(&m, &domain))
                .map(Details::Mailbox),
            ObjectRef::Mailbox(Service::RsEmail) => self
                .one::<api::RsMailbox>(&paths::rs_mailbox(c, d, n))
                .await?
                .and_then(|m| target::rs_mailbox(&m, &domain))
                .map(Details::Mailbox),
            ObjectRef::Contact => self
                .one::<api::ExchangeContact>(&paths::ex_contact(c, d, n))
                .await?
                .and_then(|x| target::contact(&x, &domain))
                .map(Details::Contact),
            ObjectRef::List => self
                .one::<api::DistributionList>(&paths::ex_list(c, d, n))
                .await?
                .and_then(|l| target::list(&l, &domain))
                .map(Details::List),
        })
    }

    fn counts(&self) -> &ReadCounts {
        &self.counts
    }
}

impl ObjectRef {
    /// The anchor kind and service of this object.
    pub fn kind_service(self) -> (TargetKind, Service) {
        match self {
            ObjectRef::Mailbox(s) => (TargetKind::Mailbox, s),
            ObjectRef::Contact => (TargetKind::Contact, Service::Exchange),
            ObjectRef::List => (TargetKind::List, Service::Exchange),
        }
    }
}

/// Reads the domains and every listing of every domain.
pub async fn list_all<R: TargetReader>(reader: &R) -> Result<Listed, ClientError> {
    let domains = reader.domains().await?;
    let mut items: Vec<(Listing, Summary)> = Vec::new();
    for d in &domains {
        for l in Listing::for_domain(d) {
            items.extend(reader.names(&d.name, l).await?.into_iter().map(|s| (l, s)));
        }
    }
    Ok(Listed {
        domains,
        items: items.into_iter().collect(),
    })
}

/// A plan made from the listings, the state store and the details that
/// decisions need, and the reads it took. The plan's operations are
/// spilled ([`crate::spill`]); `plan.ops` is empty.
pub struct KnownPlan {
    pub plan: Plan,
    pub ops: SpilledOps,
    pub reads: Vec<Read>,
}

/// Why no plan was made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The control panel could not be read.
    #[error(transparent)]
    Target(#[from] ClientError),
    /// The plan's operations could not be written to a temporary file.
    #[error("could not write the plan's operations to a temporary file (check the system's temporary directory's space and permissions): {0}")]
    Spill(#[from] std::io::Error),
}

/// Lists the control panel, reads the details the plan needs (changed
/// objects, adoptions, listed drift) and up to `verify_budget` objects of
/// the verification sample, and plans (see [`crate::known`]).
pub async fn read_and_plan<R: TargetReader>(
    reader: &R,
    desired: &Desired,
    anchors: &[Anchor],
    settings: &PlanSettings,
    verified: &HashMap<Guid, i64>,
    verify_budget: usize,
) -> Result<KnownPlan, PlanError> {
    let listed = list_all(reader).await?;
    plan_listed(
        reader,
        listed,
        desired,
        anchors,
        settings,
        verified,
        verify_budget,
    )
    .await
}

/// [`read_and_plan`] from listings already made: the whole control panel's,
/// or, for a run narrowed to a few anchored objects, theirs alone.
///
/// Memory: neither plan's operations are held whole. The first plan keeps
/// only the lists' member additions ([`known::WantedMembers`]) and its
/// anchor updates; the second spills its operations.
pub async fn plan_listed<R: TargetReader>(
    reader: &R,
    mut listed: Listed,
    desired: &Desired,
    anchors: &[Anchor],
    settings: &PlanSettings,
    verified: &HashMap<Guid, i64>,
    verify_budget: usize,
) -> Result<KnownPlan, PlanError> {
    let mut members = known::WantedMembers::default();
    let first = {
        let t = known::assemble(
            &listed,
            desired,
            anchors,
            &DetailMap::new(),
            &HashMap::new(),
        );
        plan_into(desired, &t, anchors, settings, &mut members)
    };
    let members = members.0;
    let reads = known::reads_needed(&first, desired, anchors, &listed, verified, verify_budget);
    drop(first);
    let mut details = DetailMap::new();
    for r in &reads {
        match reader.details(r.object, &r.address).await? {
            Some(d) => {
                details.insert((r.object, r.address.lower().to_string()), d);
            }
            // Gone since it was listed.
            None => listed.remove(r.object, &r.address),
        }
    }
    let t = known::assemble(&listed, desired, anchors, &details, &members);
    drop(details);
    drop(members);
    let mut spill = SpillWriter::new(reads.iter().map(|r| r.guid).collect());
    let mut plan = plan_into(desired, &t, anchors, settings, &mut spill);
    drop(t);
    let ops = spill.finish()?;
    known::distrust_findings(&mut plan, desired.findings.len());
    Ok(KnownPlan { plan, ops, reads })
}

/// The whole control panel in detail: every listing, and a GET of every
/// mailbox, contact and list. For inspection and tests; a run never reads
/// this much.
pub async fn read_everything<R: TargetReader>(reader: &R) -> Result<TargetState, ClientError> {
    let mut listed = list_all(reader).await?;
    let mut details = DetailMap::new();
    let objects: Vec<(ObjectRef, EmailAddress)> = listed
        .items
        .iter()
        .filter_map(|(l, s)| Some((l.object()?, s.address.clone())))
        .collect();
    for (o, a) in objects {
        match reader.details(o, &a).await? {
            Some(d) => {
                details.insert((o, a.lower().to_string()), d);
            }
            None => listed.remove(o, &a),
        }
    }
    Ok(known::assemble(
        &listed,
        &Desired::default(),
        &[],
        &details,
        &HashMap::new(),
    ))
}
