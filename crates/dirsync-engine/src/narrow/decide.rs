//! The pure decision of a narrowed run: what each object an incremental
//! read touched is to the run (its role), or why the run must run whole.

use dirsync_model::{DirectoryObject, EmailAddress, ObjectKind, ProxyAddress};

use crate::types::Service;

/// Where an object stands towards the service groups: a direct member of
/// the Exchange one, of the Rackspace Email one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Scope {
    pub ex: bool,
    pub rs: bool,
}

/// The four scopes by name, for the tables of cases.
#[cfg(test)]
pub(crate) mod scopes {
    use super::Scope;
    pub(crate) const NONE: Scope = Scope {
        ex: false,
        rs: false,
    };
    pub(crate) const EX: Scope = Scope {
        ex: true,
        rs: false,
    };
    pub(crate) const RS: Scope = Scope {
        ex: false,
        rs: true,
    };
    pub(crate) const BOTH: Scope = Scope { ex: true, rs: true };
}

/// What one object is to a narrowed run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Out of scope before and after: written to the replica only.
    Outside,
    /// In the scope of the same service before and after; only its own
    /// fields (names, titles, phones, disabled flag) may have changed.
    Local,
    /// A user in the scope of the same service before and after whose
    /// `mail` or `proxyAddresses` changed.
    Readdressed,
    /// A group in the Exchange scope before and after (a distribution
    /// list) whose members or names changed, its address not.
    List,
    /// A user that joins the scope of this service.
    Joins(Service),
    /// A user or contact that leaves the scope.
    Leaves,
}

impl Role {
    /// True when the object's synced address may change with this role, so
    /// the lists it is a member of are planned again (and its addresses'
    /// claims checked).
    pub(crate) fn moves_address(self) -> bool {
        matches!(self, Role::Readdressed | Role::Joins(_) | Role::Leaves)
    }
}

/// The service a user's scope gives it, `Err` for both.
fn user_service(s: Scope) -> Result<Option<Service>, &'static str> {
    match (s.ex, s.rs) {
        (true, true) => Err("a user is in both service groups"),
        (true, false) => Ok(Some(Service::Exchange)),
        (false, true) => Ok(Some(Service::RsEmail)),
        (false, false) => Ok(None),
    }
}

fn dn_key(dn: &str) -> String {
    dn.trim().to_ascii_lowercase()
}

/// True when `old` and `new` carry the same addresses (mail,
/// proxyAddresses, otherMailbox).
pub(crate) fn same_addresses(old: &DirectoryObject, new: &DirectoryObject) -> bool {
    old.mail == new.mail
        && old.proxy_addresses == new.proxy_addresses
        && old.other_mailbox == new.other_mailbox
}

/// The role of an object, from its version in the replica (`None`: new to
/// the replica) and now, and its scope before and after. `Err` says why
/// the run must run whole.
pub(crate) fn role(
    old: Option<&DirectoryObject>,
    new: &DirectoryObject,
    before: Scope,
    after: Scope,
) -> Result<Role, &'static str> {
    if let Some(o) = old {
        if o.kind != new.kind {
            return Err("an object changed kind");
        }
        if dn_key(&o.dn) != dn_key(&new.dn) {
            return Err("an object was moved or renamed (its DN changed)");
        }
    }
    let same = old.is_none_or(|o| same_addresses(o, new));
    match new.kind {
        ObjectKind::User => match (user_service(before)?, user_service(after)?) {
            (None, None) => Ok(Role::Outside),
            (Some(a), Some(b)) if a != b => Err("a user moved to the other service"),
            (Some(_), Some(_)) if same => Ok(Role::Local),
            (Some(_), Some(_)) => Ok(Role::Readdressed),
            (None, Some(s)) => Ok(Role::Joins(s)),
            (Some(_), None) => Ok(Role::Leaves),
        },
        ObjectKind::Contact => match (before.ex, after.ex) {
            (false, false) => Ok(Role::Outside),
            (true, true) if same => Ok(Role::Local),
            (true, true) => Err("a contact's address changed"),
            (false, true) => {
                Err("a new contact (its control-panel name is chosen against the whole listing)")
            }
            (true, false) => Ok(Role::Leaves),
        },
        ObjectKind::Group => match (before.ex, after.ex) {
            (false, false) => Ok(Role::Outside),
            (true, true) if old.is_none_or(|o| o.mail == new.mail) => Ok(Role::List),
            (true, true) => Err("a distribution list's address changed"),
            _ => Err("a group joined or left the Exchange scope"),
        },
    }
}

/// Every address `o` carries in `mail` and `proxyAddresses` (SMTP ones),
/// lower case, as the mapping parses them.
pub(crate) fn addresses_of(o: &DirectoryObject) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(a) = o.mail.as_deref().and_then(|m| EmailAddress::parse(m).ok()) {
        out.push(a.lower().to_string());
    }
    for raw in &o.proxy_addresses {
        if let ProxyAddress::PrimarySmtp(v) | ProxyAddress::Smtp(v) = ProxyAddress::parse(raw) {
            if let Ok(a) = EmailAddress::parse(&v) {
                out.push(a.lower().to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// True when the store's coarse SQL filter finds every holder of `a`:
/// plain ASCII, no internationalised (punycode) domain.
pub(crate) fn lookup_safe(a: &str) -> bool {
    a.is_ascii() && !a.contains("xn--")
}

#[cfg(test)]
mod tests {
    use super::*;
    use dirsync_model::Guid;

    fn user() -> DirectoryObject {
        let mut o = DirectoryObject::new(
            Guid::from_canonical_bytes([3; 16]),
            ObjectKind::User,
            "CN=Jane,OU=Staff,DC=corp,DC=test",
        );
        o.mail = Some("jane@example.com".into());
        o.proxy_addresses = vec!["SMTP:jane@example.com".into(), "smtp:j@example.com".into()];
        o
    }

    use super::scopes::{BOTH, EX, NONE, RS};

    /// Table: (case, kind, edit of the new version, new to the replica?,
    /// scope before, after, role or the reason to run whole).
    #[test]
    fn roles_table() {
        type Edit = fn(&mut DirectoryObject);
        let keep: Edit = |_| {};
        type Case = (
            &'static str,
            ObjectKind,
            Edit,
            bool,
            Scope,
            Scope,
            Result<Role, &'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                "title",
                ObjectKind::User,
                |o| o.info.title = Some("X".into()),
                false,
                EX,
                EX,
                Ok(Role::Local),
            ),
            (
                "disabled",
                ObjectKind::User,
                |o| o.disabled = true,
                false,
                RS,
                RS,
                Ok(Role::Local),
            ),
            (
                "DN case only",
                ObjectKind::User,
                |o| o.dn = o.dn.to_uppercase(),
                false,
                EX,
                EX,
                Ok(Role::Local),
            ),
            (
                "moved",
                ObjectKind::User,
                |o| o.dn = "CN=Jane,OU=Gone,DC=corp,DC=test".into(),
                false,
                EX,
                EX,
                Err("an object was moved or renamed (its DN changed)"),
            ),
            (
                "mail",
                ObjectKind::User,
                |o| o.mail = Some("jd@example.com".into()),
                false,
                EX,
                EX,
                Ok(Role::Readdressed),
            ),
            (
                "alternate dropped",
                ObjectKind::User,
                |o| {
                    o.proxy_addresses.pop();
                },
                false,
                EX,
                EX,
                Ok(Role::Readdressed),
            ),
            (
                "became a group",
                ObjectKind::User,
                |o| o.kind = ObjectKind::Group,
                false,
                EX,
                EX,
                Err("an object changed kind"),
            ),
            (
                "new user joins Exchange",
                ObjectKind::User,
                keep,
                true,
                NONE,
                EX,
                Ok(Role::Joins(Service::Exchange)),
            ),
            (
                "existing user joins RS",
                ObjectKind::User,
                keep,
                false,
                NONE,
                RS,
                Ok(Role::Joins(Service::RsEmail)),
            ),
            (
                "leaves Exchange",
                ObjectKind::User,
                keep,
                false,
                EX,
                NONE,
                Ok(Role::Leaves),
            ),
            (
                "leaves RS, title too",
                ObjectKind::User,
                |o| o.info.title = Some("X".into()),
                false,
                RS,
                NONE,
                Ok(Role::Leaves),
            ),
            (
                "switches service",
                ObjectKind::User,
                keep,
                false,
                EX,
                RS,
                Err("a user moved to the other service"),
            ),
            (
                "in both",
                ObjectKind::User,
                keep,
                false,
                EX,
                BOTH,
                Err("a user is in both service groups"),
            ),
            (
                "user out of scope",
                ObjectKind::User,
                |o| o.info.title = Some("X".into()),
                false,
                NONE,
                NONE,
                Ok(Role::Outside),
            ),
            (
                "contact local",
                ObjectKind::Contact,
                |o| o.info.title = Some("X".into()),
                false,
                EX,
                EX,
                Ok(Role::Local),
            ),
            (
                "contact readdressed",
                ObjectKind::Contact,
                |o| o.other_mailbox = vec!["x.test".into()],
                false,
                EX,
                EX,
                Err("a contact's address changed"),
            ),
            (
                "new contact",
                ObjectKind::Contact,
                keep,
                true,
                NONE,
                EX,
                Err("a new contact (its control-panel name is chosen against the whole listing)"),
            ),
            (
                "contact leaves",
                ObjectKind::Contact,
                keep,
                false,
                EX,
                NONE,
                Ok(Role::Leaves),
            ),
            (
                "contact in RS group only",
                ObjectKind::Contact,
                keep,
                false,
                RS,
                RS,
                Ok(Role::Outside),
            ),
            (
                "list members",
                ObjectKind::Group,
                |o| o.members.push("CN=X".into()),
                false,
                EX,
                EX,
                Ok(Role::List),
            ),
            (
                "list mail",
                ObjectKind::Group,
                |o| o.mail = Some("l2@example.com".into()),
                false,
                EX,
                EX,
                Err("a distribution list's address changed"),
            ),
            (
                "group joins",
                ObjectKind::Group,
                keep,
                true,
                NONE,
                EX,
                Err("a group joined or left the Exchange scope"),
            ),
            (
                "group leaves",
                ObjectKind::Group,
                keep,
                false,
                EX,
                NONE,
                Err("a group joined or left the Exchange scope"),
            ),
            (
                "group out of scope",
                ObjectKind::Group,
                |o| o.members.clear(),
                false,
                NONE,
                NONE,
                Ok(Role::Outside),
            ),
        ];
        for (what, kind, edit, fresh, before, after, want) in cases {
            let mut old = user();
            old.kind = kind;
            let mut new = old.clone();
            edit(&mut new);
            let old = (!fresh).then_some(&old);
            assert_eq!(role(old, &new, before, after), want, "{what}");
        }
    }

    #[test]
    fn address_changing_roles_replan_lists() {
        let cases = [
            (Role::Outside, false),
            (Role::Local, false),
            (Role::List, false),
            (Role::Readdressed, true),
            (Role::Joins(Service::Exchange), true),
            (Role::Leaves, true),
        ];
        for (r, want) in cases {
            assert_eq!(r.moves_address(), want, "{r:?}");
        }
    }

    #[test]
    fn addresses_are_parsed_as_the_mapping_does() {
        let mut o = user();
        o.mail = Some(" Jane@Example.com ".into());
        o.proxy_addresses.push("X400:c=us;a=;p=x".into());
        o.proxy_addresses.push("smtp:bad address".into());
        assert_eq!(addresses_of(&o), vec!["j@example.com", "jane@example.com"]);
        let cases = [
            ("jane@example.com", true),
            ("jäne@example.com", false),
            ("x@xn--bcher-kva.example", false),
        ];
        for (a, want) in cases {
            assert_eq!(lookup_safe(a), want, "{a}");
        }
    }
}
