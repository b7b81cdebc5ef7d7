//! The API paths, as axum route templates (server) and builders (client).
//!
//! All paths are relative to the base URL, which ends in `/v1` for officed
//! (for example `http://127.0.0.1:8070/v1`). `{c}` is the customer account
//! number or `me` (the key's own customer).

/// Version prefix officed serves the API under.
pub const API_PREFIX: &str = "/v1";
/// The customer path segment meaning "the API key's own customer".
pub const ME: &str = "me";
/// The customer path segment meaning "this customer and all its
/// sub-accounts" (Domain page); officed has no sub-accounts, so it answers
/// like [`ME`].
pub const ALL: &str = "all";
/// Largest accepted page size.
pub const MAX_PAGE_SIZE: u32 = 250;
/// Page size used when `size` is not given.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// Route templates (axum 0.8 syntax), relative to [`API_PREFIX`].
pub mod routes {
    pub const DOMAINS: &str = "/customers/{c}/domains";
    pub const DOMAIN: &str = "/customers/{c}/domains/{d}";
    pub const EX_MAILBOXES: &str = "/customers/{c}/domains/{d}/ex/mailboxes";
    pub const EX_MAILBOX: &str = "/customers/{c}/domains/{d}/ex/mailboxes/{name}";
    pub const EX_MAILBOX_ADDRESSES: &str =
        "/customers/{c}/domains/{d}/ex/mailboxes/{name}/emailaddresses";
    pub const EX_MAILBOX_ADDRESS: &str =
        "/customers/{c}/domains/{d}/ex/mailboxes/{name}/emailaddresses/{address}";
    /// The administrator's rename (`POST`, form `newName=`).
    pub const EX_MAILBOX_RENAME: &str = "/customers/{c}/domains/{d}/ex/mailboxes/{name}/rename";
    pub const RS_MAILBOXES: &str = "/customers/{c}/domains/{d}/rs/mailboxes";
    pub const RS_MAILBOX: &str = "/customers/{c}/domains/{d}/rs/mailboxes/{name}";
    /// Domain spam settings (`GET`/`PUT`).
    pub const DOMAIN_SPAM_SETTINGS: &str = "/customers/{c}/domains/{d}/spam/settings";
    /// A domain spam list (`safelist`, `blocklist`, `ipsafelist`, `ipblocklist`).
    pub const DOMAIN_SPAM_LIST: &str = "/customers/{c}/domains/{d}/spam/{list}";
    /// One entry of a domain spam list (`POST`/`DELETE`).
    pub const DOMAIN_SPAM_LIST_ENTRY: &str = "/customers/{c}/domains/{d}/spam/{list}/{entry}";
    /// Rackspace Email mailbox spam settings (`GET`/`PUT`).
    pub const RS_MAILBOX_SPAM_SETTINGS: &str =
        "/customers/{c}/domains/{d}/rs/mailboxes/{name}/spam/settings";
    /// A Rackspace Email mailbox spam list.
    pub const RS_MAILBOX_SPAM_LIST: &str =
        "/customers/{c}/domains/{d}/rs/mailboxes/{name}/spam/{list}";
    /// One entry of a Rackspace Email mailbox spam list (`POST`/`DELETE`).
    pub const RS_MAILBOX_SPAM_LIST_ENTRY: &str =
        "/customers/{c}/domains/{d}/rs/mailboxes/{name}/spam/{list}/{entry}";
    /// A Rackspace Email login token (`POST`, no body; Ruby's spelling).
    pub const RS_MAILBOX_LOGIN_TOKEN: &str =
        "/customers/{c}/domains/{d}/rs/mailboxes/{name}/loginToken";
    /// The same, as rackmail spells it.
    pub const RS_MAILBOX_LOGIN_TOKEN_LOWER: &str =
        "/customers/{c}/domains/{d}/rs/mailboxes/{name}/logintoken";
    /// The administrator's rename (`POST`, form `newName=`).
    pub const RS_MAILBOX_RENAME: &str = "/customers/{c}/domains/{d}/rs/mailboxes/{name}/rename";
    pub const RS_ALIASES: &str = "/customers/{c}/domains/{d}/rs/aliases";
    pub const RS_ALIAS: &str = "/customers/{c}/domains/{d}/rs/aliases/{alias}";
    /// One forwarding address of an alias (`POST` adds, `DELETE` removes).
    pub const RS_ALIAS_ADDRESS: &str = "/customers/{c}/domains/{d}/rs/aliases/{alias}/{address}";
    pub const EX_CONTACTS: &str = "/customers/{c}/domains/{d}/ex/contacts";
    pub const EX_CONTACT: &str = "/customers/{c}/domains/{d}/ex/contacts/{name}";
    pub const EX_LISTS: &str = "/customers/{c}/domains/{d}/ex/distributionlists";
    pub const EX_LIST: &str = "/customers/{c}/domains/{d}/ex/distributionlists/{name}";
    pub const EX_LIST_MEMBERS: &str =
        "/customers/{c}/domains/{d}/ex/distributionlists/{name}/members";
    pub const EX_LIST_MEMBER: &str =
        "/customers/{c}/domains/{d}/ex/distributionlists/{name}/members/{member}";
}

/// Percent-encodes one path segment (RFC 3986 unreserved characters pass).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `/customers/{c}/domains`
pub fn domains(customer: &str) -> String {
    format!("/customers/{}/domains", segment(customer))
}
/// `/customers/{c}/domains/{d}`
pub fn domain(customer: &str, domain: &str) -> String {
    format!("{}/{}", domains(customer), segment(domain))
}
/// `.../ex/mailboxes`
pub fn ex_mailboxes(customer: &str, d: &str) -> String {
    format!("{}/ex/mailboxes", domain(customer, d))
}
/// `.../ex/mailboxes/{name}`
pub fn ex_mailbox(customer: &str, d: &str, name: &str) -> String {
    format!("{}/{}", ex_mailboxes(customer, d), segment(name))
}
/// `.../ex/mailboxes/{name}/emailaddresses`
pub fn ex_mailbox_addresses(customer: &str, d: &str, name: &str) -> String {
    format!("{}/emailaddresses", ex_mailbox(customer, d, name))
}
/// `.../ex/mailboxes/{name}/emailaddresses/{address}`
pub fn ex_mailbox_address(customer: &str, d: &str, name: &str, address: &str) -> String {
    format!(
        "{}/{}",
        ex_mailbox_addresses(customer, d, name),
        segment(address)
    )
}
/// `.../ex/mailboxes/{name}/rename`
pub fn ex_mailbox_rename(customer: &str, d: &str, name: &str) -> String {
    format!("{}/rename", ex_mailbox(customer, d, name))
}
/// `.../rs/mailboxes`
pub fn rs_mailboxes(customer: &str, d: &str) -> String {
    format!("{}/rs/mailboxes", domain(customer, d))
}
/// `.../rs/mailboxes/{name}`
pub fn rs_mailbox(customer: &str, d: &str, name: &str) -> String {
    format!("{}/{}", rs_mailboxes(customer, d), segment(name))
}
/// `.../rs/mailboxes/{name}/rename`
pub fn rs_mailbox_rename(customer: &str, d: &str, name: &str) -> String {
    format!("{}/rename", rs_mailbox(customer, d, name))
}
/// `.../rs/aliases`
pub fn rs_aliases(customer: &str, d: &str) -> String {
    format!("{}/rs/aliases", domain(customer, d))
}
/// `.../rs/aliases/{alias}`
pub fn rs_alias(customer: &str, d: &str, alias: &str) -> String {
    format!("{}/{}", rs_aliases(customer, d), segment(alias))
}
/// `.../ex/contacts`
pub fn ex_contacts(customer: &str, d: &str) -> String {
    format!("{}/ex/contacts", domain(customer, d))
}
/// `.../ex/contacts/{name}`
pub fn ex_contact(customer: &str, d: &str, name: &str) -> String {
    format!("{}/{}", ex_contacts(customer, d), segment(name))
}
/// `.../ex/distributionlists`
pub fn ex_lists(customer: &str, d: &str) -> String {
    format!("{}/ex/distributionlists", domain(customer, d))
}
/// `.../ex/distributionlists/{name}`
pub fn ex_list(customer: &str, d: &str, name: &str) -> String {
    format!("{}/{}", ex_lists(customer, d), segment(name))
}
/// `.../ex/distributionlists/{name}/members`
pub fn ex_list_members(customer: &str, d: &str, name: &str) -> String {
    format!("{}/members", ex_list(customer, d, name))
}
/// `.../ex/distributionlists/{name}/members/{member}`
pub fn ex_list_member(customer: &str, d: &str, name: &str, member: &str) -> String {
    format!("{}/{}", ex_list_members(customer, d, name), segment(member))
}

/// `?size=..&offset=..` for list calls.
pub fn page_query(size: u32, offset: u32) -> String {
    format!("?size={size}&offset={offset}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_match_templates() {
        assert_eq!(
            ex_mailbox("me", "example.com", "jdoe"),
            "/customers/me/domains/example.com/ex/mailboxes/jdoe"
        );
        assert_eq!(
            ex_mailbox_address("123", "example.com", "jdoe", "j.doe@example.com"),
            "/customers/123/domains/example.com/ex/mailboxes/jdoe/emailaddresses/j.doe@example.com"
        );
        assert_eq!(
            ex_list_member("me", "e.com", "Sales Team", "a@e.com"),
            "/customers/me/domains/e.com/ex/distributionlists/Sales%20Team/members/a@e.com"
        );
        assert_eq!(
            rs_alias("me", "e.com", "info"),
            "/customers/me/domains/e.com/rs/aliases/info"
        );
        assert_eq!(
            ex_mailbox_rename("me", "example.com", "jane"),
            "/customers/me/domains/example.com/ex/mailboxes/jane/rename"
        );
        assert_eq!(
            rs_mailbox_rename("me", "example.com", "jane"),
            "/customers/me/domains/example.com/rs/mailboxes/jane/rename"
        );
        assert_eq!(segment("a/b"), "a%2Fb");
    }
}
