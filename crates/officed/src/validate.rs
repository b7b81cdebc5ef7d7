//! Pure validation of names and addresses (no I/O), tested with tables.

use crate::error::{Error, Result};

/// Lower-cases for case-insensitive keys (ASCII: addresses and domain names
/// are ASCII here; internationalised names must arrive as punycode).
pub fn key(s: &str) -> String {
    s.to_ascii_lowercase()
}

fn local_char_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '\'')
}

/// Checks a local part (mailbox, contact, alias or list name): 1-64 of
/// `A-Z a-z 0-9 . _ - + '`, no leading, trailing or double dot.
pub fn local_part(what: &str, s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars().all(local_char_ok)
        && !s.starts_with('.')
        && !s.ends_with('.')
        && !s.contains("..");
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(
            format!("The {what} name '{}' is invalid.", printable(s)),
            "Use 1 to 64 characters from A-Z, a-z, 0-9 and . _ - + ' (no leading, trailing or double dot).",
        ))
    }
}

/// Checks a domain name: labels of `a-z 0-9 -` (1-63, not starting or
/// ending with `-`), at least two labels, at most 253 characters.
pub fn domain_name(s: &str) -> Result<()> {
    let labels: Vec<&str> = s.split('.').collect();
    let ok = s.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(
            format!("The domain name '{}' is invalid.", printable(s)),
            "Use a fully qualified name such as example.com (ASCII; punycode for international names).",
        ))
    }
}

/// Splits and checks `local@domain`; returns `(local, domain)` as given.
pub fn address(s: &str) -> Result<(String, String)> {
    let bad = || {
        Error::bad_request(
            format!("The email address '{}' is invalid.", printable(s)),
            "Use local@domain, for example jane.doe@example.com.",
        )
    };
    let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
    local_part("address", local).map_err(|_| bad())?;
    domain_name(domain).map_err(|_| bad())?;
    Ok((local.to_string(), domain.to_string()))
}

/// A display name: 1-256 characters, no control characters.
pub fn display_name(s: &str) -> Result<()> {
    if s.trim().is_empty() || s.chars().count() > 256 || s.chars().any(char::is_control) {
        return Err(Error::bad_request(
            "The display name is invalid.",
            "Use 1 to 256 characters without control characters.",
        ));
    }
    Ok(())
}

/// Free-text fields (names, contact info): at most 1024 characters, no control characters except none.
pub fn text_field(field: &str, s: &str) -> Result<()> {
    if s.chars().count() > 1024 || s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Error::bad_request(
            format!("The field '{field}' is invalid."),
            "Use at most 1024 characters without control characters.",
        ));
    }
    Ok(())
}

/// Mailbox size in MB: 1 to 102400.
pub fn size_mb(size: u32) -> Result<()> {
    if (1..=102_400).contains(&size) {
        Ok(())
    } else {
        Err(Error::bad_request(
            format!("The mailbox size {size} is invalid."),
            "The size is in MB, from 1 to 102400.",
        ))
    }
}

/// Customer account numbers: 1-32 of `A-Z a-z 0-9 -`, and not `me`.
pub fn account_number(s: &str) -> Result<()> {
    if s.is_empty()
        || s.len() > 32
        || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        || s.eq_ignore_ascii_case("me")
    {
        return Err(Error::bad_request(
            format!("The account number '{}' is invalid.", printable(s)),
            "Use 1 to 32 characters from A-Z, a-z, 0-9 and -; 'me' is reserved.",
        ));
    }
    Ok(())
}

/// A value safe to echo in a message: control characters replaced, at most 100 characters.
pub fn printable(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(100)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > 100 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_parts() {
        for (s, ok) in [
            ("jdoe", true),
            ("Jane.Doe", true),
            ("o'neil", true),
            ("a+b_c-d", true),
            ("", false),
            (".a", false),
            ("a.", false),
            ("a..b", false),
            ("a b", false),
            ("a@b", false),
            ("é", false),
            (&"x".repeat(64), true),
            (&"x".repeat(65), false),
        ] {
            assert_eq!(local_part("mailbox", s).is_ok(), ok, "{s:?}");
        }
    }

    #[test]
    fn domains() {
        for (s, ok) in [
            ("example.com", true),
            ("a-b.example.co.uk", true),
            ("localhost", false),
            ("-a.com", false),
            ("a-.com", false),
            ("a..com", false),
            ("a_b.com", false),
            ("", false),
        ] {
            assert_eq!(domain_name(s).is_ok(), ok, "{s:?}");
        }
    }

    #[test]
    fn addresses() {
        assert_eq!(
            address("J.Doe@Example.com").unwrap(),
            ("J.Doe".into(), "Example.com".into())
        );
        for bad in ["", "a", "@b.com", "a@", "a@b", "a b@c.com", "a@@b.com"] {
            assert!(address(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn misc() {
        assert!(size_mb(0).is_err());
        assert!(size_mb(2048).is_ok());
        assert!(account_number("me").is_err());
        assert!(account_number("123456").is_ok());
        assert!(display_name(" ").is_err());
        assert!(display_name("Jane Doe").is_ok());
        assert_eq!(printable("a\u{0}b"), "a?b");
    }
}
