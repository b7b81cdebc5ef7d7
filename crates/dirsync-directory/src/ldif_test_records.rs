//! LDIF records for the tests of the LDIF readers ([`crate::ldif`] and
//! [`crate::ldif_scope`]), written once so both read the same exports.

use base64::Engine as _;

/// The base64 form of `bytes`, as an LDIF `name:: value` line carries it.
pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The objectGUID bytes of test object `n`.
pub(crate) fn guid_bytes(n: u8) -> Vec<u8> {
    let mut g = vec![
        0xb6, 0xf0, 0xd3, 0xf2, 0x36, 0xad, 0x56, 0x4e, 0x8c, 0x70, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0,
    ];
    g[15] = n;
    g
}

/// A user record in `OU=Staff` (7 lines with its blank line).
pub(crate) fn user(n: u8, cn: &str) -> String {
    format!(
        "dn: {}\nobjectClass: top\nobjectClass: user\nobjectGUID:: {}\nsAMAccountName: {cn}\nmail: {cn}@example.com\n\n",
        staff(cn),
        b64(&guid_bytes(n))
    )
}

/// A group record in `OU=Groups` with these member DNs (5 lines and one a
/// member).
pub(crate) fn group(n: u8, cn: &str, members: &[&str]) -> String {
    let mut s = format!(
        "dn: CN={cn},OU=Groups,DC=example,DC=com\nobjectClass: group\nobjectGUID:: {}\nsAMAccountName: {cn}\n",
        b64(&guid_bytes(n))
    );
    for m in members {
        s.push_str(&format!("member: {m}\n"));
    }
    s.push('\n');
    s
}

/// The DN of the user `cn` in `OU=Staff`.
pub(crate) fn staff(cn: &str) -> String {
    format!("CN={cn},OU=Staff,DC=example,DC=com")
}
