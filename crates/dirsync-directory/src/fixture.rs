//! Test and benchmark fixtures: realistic users, contacts and nested groups,
//! generated deterministically and loaded into a directory over LDAP.
//!
//! Loading uses several connections with many adds in flight on each
//! (ldap3 multiplexes requests), which is much faster than one add at a time;
//! `scripts/bench-directory` and the `ad-fixture` binary report the rate.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, TryStreamExt};
use ldap3::Mod;

use crate::error::LdapSourceError;
use crate::LdapSource;

const GIVEN: &[&str] = &[
    "Aisling", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Gráinne", "Hiro", "Ines", "Jamal",
    "Karin", "Luca", "Maeve", "Nikhil", "Olga", "Pádraig", "Qin", "Rosa", "Søren", "Tariq", "Uma",
    "Viktor", "Wen", "Ximena", "Yusuf", "Zoë",
];
const SURNAMES: &[&str] = &[
    "O'Brien",
    "Murphy",
    "Kowalski",
    "García",
    "Nakamura",
    "Okafor",
    "Schmidt",
    "Dubois",
    "Rossi",
    "Novak",
    "Kim",
    "Hughes",
    "Fitzgerald",
    "Andersson",
    "Haddad",
    "Müller",
    "Walsh",
    "Byrne",
    "Silva",
    "Chen",
];
const TITLES: &[&str] = &[
    "Engineer",
    "Accountant",
    "Sales Manager",
    "Support Specialist",
    "Designer",
    "Director",
    "Analyst",
    "Nurse",
];
const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Finance",
    "Sales",
    "Support",
    "Marketing",
    "Operations",
    "HR",
];
const CITIES: &[(&str, &str, &str, &str)] = &[
    ("Dublin", "Leinster", "D02 X285", "Ireland"),
    ("San Antonio", "TX", "78218", "United States"),
    ("London", "Greater London", "EC1A 1BB", "United Kingdom"),
    ("Berlin", "Berlin", "10115", "Germany"),
    ("Toronto", "ON", "M5V 2T6", "Canada"),
];

/// What to load.
#[derive(Debug, Clone)]
pub struct FixtureSpec {
    /// Existing OU to create the objects in.
    pub ou_dn: String,
    /// Short unique tag (at most 10 characters) that prefixes sAMAccountNames.
    pub tag: String,
    /// Mail domain, e.g. `example.com`.
    pub domain: String,
    pub users: usize,
    pub contacts: usize,
    /// Nested distribution-list groups, each made a member of the service group.
    pub groups: usize,
    /// Service group that receives every user, contact and nested group as a direct member.
    pub service_group_dn: Option<String>,
    /// Every n-th user is disabled (0: none).
    pub disabled_every: usize,
    /// Connections and adds in flight per connection.
    pub connections: usize,
    pub in_flight: usize,
    /// Only add the memberships (the objects exist from an earlier load that
    /// stopped before its membership step).
    pub members_only: bool,
}

impl FixtureSpec {
    pub fn new(ou_dn: &str, tag: &str, users: usize) -> Self {
        FixtureSpec {
            ou_dn: ou_dn.into(),
            tag: tag
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(10)
                .collect(),
            domain: "example.com".into(),
            users,
            contacts: 0,
            groups: 0,
            service_group_dn: None,
            disabled_every: 20,
            connections: 4,
            in_flight: 16,
            members_only: false,
        }
    }
}

/// What was loaded.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub user_dns: Vec<String>,
    pub contact_dns: Vec<String>,
    pub group_dns: Vec<String>,
    pub elapsed: Duration,
}

/// One entry to add: DN and attributes.
pub type Entry = (String, Vec<(String, Vec<String>)>);

fn pick<'a>(list: &[&'a str], i: usize, salt: usize) -> &'a str {
    list[(i.wrapping_mul(2654435761).wrapping_add(salt * 40503)) % list.len()]
}

/// The entries for user `i` (deterministic).
pub fn user_entry(spec: &FixtureSpec, i: usize) -> Entry {
    let given = pick(GIVEN, i, 1);
    let sn = pick(SURNAMES, i, 2);
    let sam = format!("{}u{i}", spec.tag);
    let cn = format!("{given} {sn} {}{i}", spec.tag);
    let dn = format!("CN={},{}", ldap3::dn_escape(cn.as_str()), spec.ou_dn);
    let local = format!("{}.{}.{}{i}", ascii(given), ascii(sn), spec.tag).to_lowercase();
    let mail = format!("{local}@{}", spec.domain);
    let mut proxies = vec![format!("SMTP:{mail}")];
    for k in 0..(1 + i % 3) {
        proxies.push(format!(
            "smtp:{}{k}@{}",
            sam.to_lowercase(),
            if k == 2 {
                "alt.example.net"
            } else {
                &spec.domain
            }
        ));
    }
    if i.is_multiple_of(7) {
        proxies.push(format!(
            "X500:/o=Example/ou=Exchange/cn=Recipients/cn={sam}"
        ));
    }
    let (city, st, zip, country) = CITIES[i % CITIES.len()];
    let disabled = spec.disabled_every > 0 && i % spec.disabled_every == spec.disabled_every - 1;
    let mut a = vec![
        (
            "objectClass",
            vec!["top", "person", "organizationalPerson", "user"]
                .into_iter()
                .map(String::from)
                .collect(),
        ),
        ("sAMAccountName", vec![sam.clone()]),
        ("userPrincipalName", vec![format!("{sam}@{}", spec.domain)]),
        (
            "userAccountControl",
            vec![if disabled { "546" } else { "544" }.to_string()],
        ),
        ("givenName", vec![given.into()]),
        ("sn", vec![sn.into()]),
        (
            "initials",
            vec![given.chars().next().unwrap_or('X').to_string()],
        ),
        ("displayName", vec![format!("{given} {sn}")]),
        ("mail", vec![mail]),
        ("proxyAddresses", proxies),
        ("title", vec![pick(TITLES, i, 3).into()]),
        ("department", vec![pick(DEPARTMENTS, i, 4).into()]),
        ("company", vec!["Example Ltd".into()]),
        (
            "physicalDeliveryOfficeName",
            vec![format!("{city} {}", 1 + i % 9)],
        ),
        (
            "telephoneNumber",
            vec![format!("+1 210 555 {:04}", i % 10000)],
        ),
        (
            "mobile",
            vec![format!("+353 87 {:03} {:04}", i % 1000, (i * 7) % 10000)],
        ),
        (
            "streetAddress",
            vec![format!("{} Main Street", 1 + i % 200)],
        ),
        ("l", vec![city.into()]),
        ("st", vec![st.into()]),
        ("postalCode", vec![zip.into()]),
        ("co", vec![country.into()]),
        ("employeeID", vec![format!("E{:06}", i)]),
        (
            "employeeType",
            vec![if i.is_multiple_of(10) {
                "Contractor"
            } else {
                "Employee"
            }
            .into()],
        ),
    ];
    if i.is_multiple_of(5) {
        a.push((
            "facsimileTelephoneNumber",
            vec![format!("+1 210 555 9{:03}", i % 1000)],
        ));
    }
    if i.is_multiple_of(11) {
        a.push(("pager", vec![format!("{:05}", i % 100000)]));
        a.push(("homePhone", vec![format!("+1 830 555 {:04}", i % 10000)]));
    }
    (dn, a.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// The entries for contact `i`.
pub fn contact_entry(spec: &FixtureSpec, i: usize) -> Entry {
    let given = pick(GIVEN, i, 5);
    let sn = pick(SURNAMES, i, 6);
    let cn = format!("{given} {sn} {}c{i}", spec.tag);
    let dn = format!("CN={},{}", ldap3::dn_escape(cn.as_str()), spec.ou_dn);
    let domain = ["partner.org", "supplier.net", "example.org"][i % 3];
    let mail = format!("{}.{}{i}@{domain}", ascii(given), ascii(sn)).to_lowercase();
    let a = vec![
        (
            "objectClass",
            vec!["top", "person", "organizationalPerson", "contact"]
                .into_iter()
                .map(String::from)
                .collect(),
        ),
        ("displayName", vec![format!("{given} {sn} (external)")]),
        ("givenName", vec![given.into()]),
        ("sn", vec![sn.into()]),
        ("mail", vec![mail.clone()]),
        ("proxyAddresses", vec![format!("SMTP:{mail}")]),
        ("otherMailbox", vec![spec.domain.clone()]),
        ("company", vec![format!("{} Partners", ascii(sn))]),
        (
            "telephoneNumber",
            vec![format!("+44 20 7946 {:04}", i % 10000)],
        ),
    ];
    (dn, a.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// The entry for nested group `i`, without members (see [`with_members`]).
pub fn group_entry(spec: &FixtureSpec, i: usize) -> Entry {
    let name = format!("{} List {i}", pick(DEPARTMENTS, i, 7));
    let dn = format!(
        "CN={} {}g{i},{}",
        ldap3::dn_escape(name.as_str()),
        spec.tag,
        spec.ou_dn
    );
    let sam = format!("{}g{i}", spec.tag);
    let mail = format!(
        "{}{i}.{}@{}",
        ascii(pick(DEPARTMENTS, i, 7)).to_lowercase(),
        spec.tag.to_lowercase(),
        spec.domain
    );
    let a = vec![
        ("objectClass", vec!["top".to_string(), "group".to_string()]),
        ("sAMAccountName", vec![sam]),
        // A universal distribution group, as distribution lists usually are.
        ("groupType", vec!["8".to_string()]),
        ("displayName", vec![name]),
        ("mail", vec![mail.clone()]),
        ("proxyAddresses", vec![format!("SMTP:{mail}")]),
    ];
    (dn, a.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'é' => 'e',
            'á' => 'a',
            'ø' => 'o',
            'ë' => 'e',
            'ü' => 'u',
            'í' => 'i',
            _ => c,
        })
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

impl LdapSource {
    /// Adds entries with `connections` connections and `in_flight` adds
    /// outstanding on each. The first error stops the load and is returned.
    pub async fn add_entries(
        &mut self,
        entries: Vec<Entry>,
        connections: usize,
        in_flight: usize,
    ) -> Result<(), LdapSourceError> {
        let conns = connections.max(1);
        let mut handles = Vec::new();
        let entries = Arc::new(entries);
        for c in 0..conns {
            let cfg = self.cfg.clone();
            let entries = entries.clone();
            handles.push(tokio::spawn(async move {
                let src = LdapSource::connect(cfg).await?;
                let ldap = src.ldap.clone();
                let err_cfg = &src.cfg;
                stream::iter(
                    (c..entries.len())
                        .step_by(conns)
                        .map(Ok::<usize, LdapSourceError>),
                )
                .try_for_each_concurrent(in_flight.max(1), |i| {
                    let mut ldap = ldap.clone();
                    let entries = entries.clone();
                    async move {
                        let (dn, attrs) = &entries[i];
                        let attrs: Vec<(&str, HashSet<&str>)> = attrs
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.iter().map(String::as_str).collect()))
                            .collect();
                        // A group added whole with tens of thousands of
                        // members takes far longer than one user.
                        let r = ldap
                            .with_timeout(err_cfg.timeout * 10)
                            .add(dn, attrs)
                            .await
                            .map_err(|e| LdapSourceError::Connection {
                                action: format!("adding '{dn}'"),
                                cause: e.to_string(),
                            })?;
                        if r.rc != 0 {
                            return Err(crate::ldap_errors::result_error(
                                err_cfg,
                                &format!("adding '{dn}'"),
                                r.rc,
                                &r.text,
                            ));
                        }
                        Ok(())
                    }
                })
                .await?;
                src.unbind().await;
                Ok::<(), LdapSourceError>(())
            }));
        }
        for h in handles {
            h.await.map_err(|e| LdapSourceError::Connection {
                action: "loading fixtures".into(),
                cause: e.to_string(),
            })??;
        }
        Ok(())
    }

    /// Adds member values to a group, 1000 per modify.
    pub async fn add_members(
        &mut self,
        group_dn: &str,
        members: &[String],
    ) -> Result<(), LdapSourceError> {
        for chunk in members.chunks(1000) {
            let set: HashSet<&str> = chunk.iter().map(String::as_str).collect();
            let r = self
                .ldap
                .with_timeout(self.cfg.timeout * 4)
                .modify(group_dn, vec![Mod::Add("member", set)])
                .await
                .map_err(|e| LdapSourceError::Connection {
                    action: format!("adding members to '{group_dn}'"),
                    cause: e.to_string(),
                })?;
            if r.rc != 0 {
                return Err(crate::ldap_errors::result_error(
                    &self.cfg,
                    &format!("adding members to '{group_dn}'"),
                    r.rc,
                    &r.text,
                ));
            }
        }
        Ok(())
    }

    /// Loads a whole fixture: users and contacts, then each nested group in
    /// one add with all its members, then the service group in one add with
    /// every user, contact and group.
    ///
    /// Why this order: adding members one modify at a time rewrites a
    /// growing member list on every add (Samba fell to 4–5 users/s towards
    /// 50,000), while a group added whole with its members is written once.
    /// Nested group `g` gets every user and contact whose index modulo the
    /// group count is `g`. A service group that exists already (an earlier
    /// batch, or a test's own) gets its members by modify instead, and so
    /// does every group with `members_only`.
    pub async fn load_fixture(&mut self, spec: &FixtureSpec) -> Result<Loaded, LdapSourceError> {
        let start = Instant::now();
        let FixtureEntries {
            users,
            contacts,
            groups,
            service,
        } = fixture_entries(spec);
        let loaded = Loaded {
            user_dns: users.iter().map(|e| e.0.clone()).collect(),
            contact_dns: contacts.iter().map(|e| e.0.clone()).collect(),
            group_dns: groups.iter().map(|e| e.0.clone()).collect(),
            elapsed: Duration::ZERO,
        };
        let service_members = service.map(|e| members_of_entry(&e));
        if spec.members_only {
            for g in &groups {
                self.add_members(&g.0, &members_of_entry(g)).await?;
            }
            if let (Some(svc), Some(members)) = (&spec.service_group_dn, &service_members) {
                self.add_members(svc, members).await?;
            }
        } else {
            let leaves: Vec<Entry> = users.into_iter().chain(contacts).collect();
            self.add_entries(leaves, spec.connections, spec.in_flight)
                .await?;
            self.add_entries(groups, spec.connections, spec.in_flight)
                .await?;
            // A large load takes longer than the DC keeps an idle connection
            // open (Samba closes it after 15 minutes), and this one sat idle
            // while the adds ran on their own connections: take a fresh one.
            *self = LdapSource::connect(self.cfg.clone()).await?;
            if let (Some(svc), Some(members)) = (&spec.service_group_dn, &service_members) {
                let entry = with_members(service_group_entry(svc), members.clone());
                match self.add_entries(vec![entry], 1, 1).await {
                    Ok(()) => {}
                    Err(e) if already_exists(&e) => self.add_members(svc, members).await?,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(Loaded {
            elapsed: start.elapsed(),
            ..loaded
        })
    }
}

/// Every entry of a fixture, groups already holding their members.
#[derive(Debug, Clone)]
pub struct FixtureEntries {
    pub users: Vec<Entry>,
    pub contacts: Vec<Entry>,
    /// Nested group `g` holds every user and contact whose index (users
    /// first, then contacts) modulo the group count is `g`.
    pub groups: Vec<Entry>,
    /// The service group (when the spec names one) with every user, contact
    /// and nested group as a member.
    pub service: Option<Entry>,
}

/// The whole fixture of `spec`, in one place for both loaders: over LDAP
/// ([`LdapSource::load_fixture`]) and as LDIF for an offline load
/// ([`write_fixture_ldif`]), so both load the same objects.
pub fn fixture_entries(spec: &FixtureSpec) -> FixtureEntries {
    let users: Vec<Entry> = (0..spec.users).map(|i| user_entry(spec, i)).collect();
    let contacts: Vec<Entry> = (0..spec.contacts).map(|i| contact_entry(spec, i)).collect();
    let mut members: Vec<Vec<String>> = vec![Vec::new(); spec.groups];
    if spec.groups > 0 {
        for (i, e) in users.iter().chain(&contacts).enumerate() {
            members[i % spec.groups].push(e.0.clone());
        }
    }
    let groups: Vec<Entry> = members
        .into_iter()
        .enumerate()
        .map(|(g, m)| with_members(group_entry(spec, g), m))
        .collect();
    let service = spec.service_group_dn.as_ref().map(|svc| {
        let all = users
            .iter()
            .chain(&contacts)
            .chain(&groups)
            .map(|e| e.0.clone())
            .collect();
        with_members(service_group_entry(svc), all)
    });
    FixtureEntries {
        users,
        contacts,
        groups,
        service,
    }
}

fn members_of_entry(e: &Entry) -> Vec<String> {
    e.1.iter()
        .find(|(k, _)| k == "member")
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Writes the fixture as LDIF add records for an offline load into a stopped
/// DC's database (`scripts/bench-dc load`), which keeps its rate as the domain
/// grows where adds over LDAP slow down: the OU (when `ou` is given, as its
/// `objectClass` values), then the users and contacts, each nested group
/// with its members, and the service group with every member last, so each
/// member exists before a group names it. Returns the number of records.
pub fn write_fixture_ldif(
    spec: &FixtureSpec,
    with_ou: bool,
    out: &mut impl std::io::Write,
) -> std::io::Result<usize> {
    let f = fixture_entries(spec);
    let mut n = 0;
    if with_ou {
        let ou: Entry = (
            spec.ou_dn.clone(),
            vec![(
                "objectClass".to_string(),
                vec!["organizationalUnit".to_string()],
            )],
        );
        out.write_all(ldif_record(&ou).as_bytes())?;
        n += 1;
    }
    for e in f
        .users
        .iter()
        .chain(&f.contacts)
        .chain(&f.groups)
        .chain(&f.service)
    {
        out.write_all(ldif_record(e).as_bytes())?;
        n += 1;
    }
    Ok(n)
}

/// One LDIF add record (RFC 2849), ending with its blank line: values that
/// are not safe as plain text (non-ASCII, leading space, colon or `<`,
/// trailing space, line breaks) are written base64-encoded.
pub fn ldif_record(e: &Entry) -> String {
    let mut s = ldif_line("dn", &e.0);
    for (k, vs) in &e.1 {
        for v in vs {
            s.push_str(&ldif_line(k, v));
        }
    }
    s.push('\n');
    s
}

fn ldif_line(name: &str, value: &str) -> String {
    let safe = value.is_ascii()
        && !value.starts_with([' ', ':', '<'])
        && !value.ends_with(' ')
        && !value.contains(['\0', '\n', '\r']);
    if safe {
        format!("{name}: {value}\n")
    } else {
        use base64::Engine;
        let b = base64::engine::general_purpose::STANDARD.encode(value.as_bytes());
        format!("{name}:: {b}\n")
    }
}

/// True when an add failed because the entry exists (LDAP result 68).
pub fn already_exists(e: &LdapSourceError) -> bool {
    matches!(e, LdapSourceError::Server { rc: 68, .. })
}

/// The entry with `member` values (none added when `members` is empty: an
/// empty attribute is not a valid add).
pub fn with_members(mut e: Entry, members: Vec<String>) -> Entry {
    if !members.is_empty() {
        e.1.push(("member".to_string(), members));
    }
    e
}

/// A security group named by the CN of `dn`, for a service group: its
/// `sAMAccountName` is the CN's letters and digits (at most 20).
pub fn service_group_entry(dn: &str) -> Entry {
    let cn = dn
        .split_once(',')
        .map_or(dn, |(rdn, _)| rdn)
        .trim_start_matches("CN=")
        .trim_start_matches("cn=");
    let sam: String = cn
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(20)
        .collect();
    (
        dn.to_string(),
        vec![
            ("objectClass".to_string(), vec!["group".to_string()]),
            ("sAMAccountName".to_string(), vec![sam]),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_added_whole_with_their_members() {
        // (service group DN, sAMAccountName)
        for (dn, sam) in [
            ("CN=Exchange dsb10k,OU=dsb10kx,DC=x", "Exchangedsb10k"),
            (
                "cn=A very long service group name indeed,DC=x",
                "Averylongservicegrou",
            ),
            ("CN=Solo", "Solo"),
        ] {
            let (d, attrs) = service_group_entry(dn);
            assert_eq!(d, dn);
            assert!(
                attrs.contains(&("sAMAccountName".into(), vec![sam.into()])),
                "{attrs:?}"
            );
        }
        let spec = FixtureSpec::new("OU=T,DC=x", "t", 10);
        let g = with_members(group_entry(&spec, 0), vec!["CN=a".into(), "CN=b".into()]);
        assert_eq!(
            g.1.iter()
                .find(|(k, _)| k == "member")
                .map(|(_, v)| v.len()),
            Some(2)
        );
        // No empty member attribute: an add with one is refused.
        let g = with_members(group_entry(&spec, 0), vec![]);
        assert!(!g.1.iter().any(|(k, _)| k == "member"));
    }

    #[test]
    fn entries_are_deterministic_and_valid() {
        let spec = FixtureSpec::new("OU=T,DC=x", "tag123", 10);
        assert_eq!(user_entry(&spec, 3), user_entry(&spec, 3));
        let (dn, attrs) = user_entry(&spec, 5);
        assert!(dn.ends_with(",OU=T,DC=x"));
        let get = |k: &str| {
            attrs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert!(get("sAMAccountName")[0].len() <= 20);
        let proxies = get("proxyAddresses");
        assert!(proxies[0].starts_with("SMTP:"));
        assert!((2..=4).contains(&proxies.len()));
        for p in &proxies {
            assert!(p.is_ascii(), "{p}");
        }
        // Every 20th user (index 19, 39, ...) is disabled.
        assert_eq!(
            user_entry(&spec, 19)
                .1
                .iter()
                .find(|(n, _)| n == "userAccountControl")
                .unwrap()
                .1[0],
            "546"
        );
    }

    #[test]
    fn ldif_values_are_plain_or_base64() {
        // (value, expected line)
        for (v, line) in [
            ("plain", "a: plain\n"),
            ("Chloé Murphy", "a:: Q2hsb8OpIE11cnBoeQ==\n"),
            (" lead", "a:: IGxlYWQ=\n"),
            ("trail ", "a:: dHJhaWwg\n"),
            (":colon", "a:: OmNvbG9u\n"),
            ("<url", "a:: PHVybA==\n"),
            ("two\nlines", "a:: dHdvCmxpbmVz\n"),
            ("mid: colon <ok>", "a: mid: colon <ok>\n"),
            ("", "a: \n"),
        ] {
            assert_eq!(ldif_line("a", v), line, "{v:?}");
        }
        let rec = ldif_record(&(
            "CN=x,DC=y".into(),
            vec![("member".into(), vec!["CN=a".into(), "CN=b".into()])],
        ));
        assert_eq!(rec, "dn: CN=x,DC=y\nmember: CN=a\nmember: CN=b\n\n");
    }

    #[test]
    fn the_ldif_holds_every_object_with_members_after_them() {
        let mut spec = FixtureSpec::new("OU=T,DC=x", "t", 7);
        spec.contacts = 3;
        spec.groups = 2;
        spec.service_group_dn = Some("CN=Exchange t,OU=T,DC=x".into());
        let mut out = Vec::new();
        let n = write_fixture_ldif(&spec, true, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        // OU + 7 users + 3 contacts + 2 groups + the service group.
        assert_eq!(n, 14);
        assert_eq!(text.matches("\n\n").count(), 14);
        assert!(text.starts_with("dn: OU=T,DC=x\nobjectClass: organizationalUnit\n\n"));
        let records: Vec<&str> = text.split("\n\n").filter(|r| !r.is_empty()).collect();
        // Groups: users then contacts round-robin (10 leaves over 2 groups).
        assert_eq!(records[11].matches("\nmember:").count(), 5);
        assert_eq!(records[12].matches("\nmember:").count(), 5);
        let svc = records[13];
        assert!(svc.starts_with("dn: CN=Exchange t,OU=T,DC=x\n"), "{svc}");
        assert_eq!(svc.matches("\nmember:").count(), 12);
        // Every member is added before the group that names it (values
        // decoded: names such as Chloé are written base64-encoded).
        let value = |line: &str, name: &str| -> Option<String> {
            use base64::Engine;
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            Some(match rest.strip_prefix(':') {
                Some(b) => String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(b.trim())
                        .unwrap(),
                )
                .unwrap(),
                None => rest.trim_start().to_string(),
            })
        };
        let dns: Vec<String> = records
            .iter()
            .map(|r| value(r.lines().next().unwrap(), "dn").unwrap())
            .collect();
        let mut seen = 0;
        for (gi, r) in records.iter().enumerate() {
            for m in r.lines().filter_map(|l| value(l, "member")) {
                let p = dns.iter().position(|d| *d == m);
                assert!(p.is_some_and(|p| p < gi), "{m} after its group");
                seen += 1;
            }
        }
        assert_eq!(seen, 22);
        // The same objects as the LDAP load's.
        let f = fixture_entries(&spec);
        assert_eq!(f.users[3], user_entry(&spec, 3));
        assert_eq!(members_of_entry(f.service.as_ref().unwrap()).len(), 12);
        // Without the OU, and with no group at all.
        let mut bare = FixtureSpec::new("OU=T,DC=x", "t", 2);
        bare.service_group_dn = None;
        let mut out = Vec::new();
        assert_eq!(write_fixture_ldif(&bare, false, &mut out).unwrap(), 2);
    }
}
