//! The LDIF parser, streamed: records are read one at a time from any
//! [`BufRead`], so neither the file's text nor all its entries are ever in
//! memory at once (issue 12: a rerun of a 100,000-user export).
//!
//! Why records and not a whole parse: one bad record must not stop the
//! others. A line that cannot be read marks its record bad (with the line
//! and what to do), the rest of that record is still read leniently (its
//! DN, kind and objectGUID tell the caller which object it is), and the
//! next record is read as if nothing happened. Whether a bad record fails
//! the whole read ([`crate::ldif::read_snapshot`]) or only that object
//! (the streamed rerun, [`crate::ldif_scope`]) is the caller's choice.
//!
//! The parser also remembers whether the last record ended with a blank
//! line: LDIF has no end marker, and a file cut short must not be taken
//! as a directory whose last objects left.

use std::io::BufRead;

use base64::Engine as _;

use crate::entry::RawEntry;
use crate::ldif::LdifError;

/// One record of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A well-formed record and the line its `dn:` is on.
    Entry { line: usize, entry: RawEntry },
    /// A record with at least one line that cannot be read.
    Bad(BadEntry),
}

/// A record that could not be read whole: the first error found in it,
/// and what could be read of it (to tell which object it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEntry {
    /// The line the record starts on.
    pub start: usize,
    /// The record's DN, when its `dn:` line could be read.
    pub dn: Option<String>,
    /// The attributes read from its readable lines.
    pub partial: RawEntry,
    /// The first error, naming its line.
    pub error: LdifError,
}

/// The last record when no blank line follows it: (first line, last line, DN text).
pub type Unterminated = (usize, usize, String);

/// A record being read.
struct Building {
    start: usize,
    dn: Option<String>,
    /// The DN as written on the `dn:` line (for messages about a cut file).
    dn_text: String,
    entry: RawEntry,
    error: Option<LdifError>,
}

impl Building {
    fn finish(self) -> Parsed {
        match (self.error, self.dn) {
            (None, Some(_)) => Parsed::Entry {
                line: self.start,
                entry: self.entry,
            },
            (error, dn) => Parsed::Bad(BadEntry {
                start: self.start,
                dn,
                partial: self.entry,
                error: error.unwrap_or_else(|| {
                    LdifError::syntax(self.start, "a record must start with 'dn:'")
                }),
            }),
        }
    }
}

/// A physical line: its number and its text (or why it is not text).
type PhysLine = (usize, Result<String, LdifError>);

/// A logical line: its text (unfolded) and the physical line it started on.
pub(crate) struct Logical {
    pub line: usize,
    pub text: String,
}

/// The records of an LDIF file, one at a time. The iterator's `Err` is an
/// I/O failure (the read cannot go on); a record that cannot be read is
/// [`Parsed::Bad`] and the next record is read as usual.
pub struct Records<R> {
    src: R,
    buf: Vec<u8>,
    /// Physical lines read so far.
    phys: usize,
    /// A physical line read ahead (to see whether the next one continues it).
    peeked: Option<PhysLine>,
    eof: bool,
    seen_first: bool,
    current: Option<Building>,
    unterminated: Option<Unterminated>,
    done: bool,
    /// When set, the only attributes read (lower case); see [`Records::only`].
    only: Option<&'static [&'static str]>,
}

impl<R: BufRead> Records<R> {
    /// Reads records from `src`.
    pub fn new(src: R) -> Self {
        Records {
            src,
            buf: Vec::with_capacity(256),
            phys: 0,
            peeked: None,
            eof: false,
            seen_first: false,
            current: None,
            unterminated: None,
            done: false,
            only: None,
        }
    }

    /// Reads only these attributes (lower-case names) of each record, and
    /// neither decodes nor checks the others' values: for a first pass
    /// whose second pass reads every record whole (a record is then bad
    /// only for a line of these attributes, or of its DN).
    pub fn only(mut self, attributes: &'static [&'static str]) -> Self {
        self.only = Some(attributes);
        self
    }

    /// True when the logical line is an attribute [`Records::only`] skips.
    fn skipped(&self, text: &str) -> bool {
        let Some(only) = self.only else {
            return false;
        };
        let Some(colon) = text.find(':') else {
            return false;
        };
        let base = text[..colon].split(';').next().unwrap_or_default();
        !["dn", "changetype", "control"]
            .iter()
            .chain(only)
            .any(|a| a.eq_ignore_ascii_case(base))
    }

    /// Once every record was read: the last record, when no blank line
    /// ends it (the file may be cut short or still being written).
    pub fn unterminated(&self) -> Option<&Unterminated> {
        self.unterminated.as_ref()
    }

    /// The next physical line, without its line end.
    fn physical(&mut self) -> Result<Option<PhysLine>, LdifError> {
        if let Some(p) = self.peeked.take() {
            return Ok(Some(p));
        }
        if self.eof {
            return Ok(None);
        }
        self.buf.clear();
        let n = self
            .src
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| LdifError::Io {
                line: self.phys + 1,
                message: e.to_string(),
            })?;
        if n == 0 {
            self.eof = true;
            return Ok(None);
        }
        self.phys += 1;
        let line = self.phys;
        let mut raw: &[u8] = &self.buf;
        if raw.last() == Some(&b'\n') {
            raw = &raw[..raw.len() - 1];
        }
        if raw.last() == Some(&b'\r') {
            raw = &raw[..raw.len() - 1];
        }
        if line == 1 {
            raw = raw.strip_prefix("\u{feff}".as_bytes()).unwrap_or(raw);
        }
        let text = match std::str::from_utf8(raw) {
            Ok(s) => Ok(s.to_string()),
            Err(e) => Err(LdifError::syntax(
                line,
                format!(
                    "the line is not UTF-8 text (byte {} of the line); export the file as UTF-8 text \
                     (ldifde without -u, or ldapsearch)",
                    e.valid_up_to() + 1
                ),
            )),
        };
        Ok(Some((line, text)))
    }

    /// The next logical line (comments skipped, folded lines joined); an
    /// `Err` inside is a line that cannot be read.
    fn logical(&mut self) -> Result<Option<Result<Logical, LdifError>>, LdifError> {
        loop {
            let Some((line, text)) = self.physical()? else {
                return Ok(None);
            };
            let text = match text {
                Ok(t) => t,
                Err(e) => return Ok(Some(Err(e))),
            };
            if text.starts_with('#') {
                // A comment and the lines folded into it.
                while let Some((l, t)) = self.physical()? {
                    if !matches!(&t, Ok(t) if t.starts_with(' ')) {
                        self.peeked = Some((l, t));
                        break;
                    }
                }
                continue;
            }
            if text.starts_with(' ') {
                return Ok(Some(Err(LdifError::syntax(
                    line,
                    "a continuation line (starting with a space) follows no attribute line",
                ))));
            }
            let mut out = Logical { line, text };
            if out.text.is_empty() {
                return Ok(Some(Ok(out)));
            }
            while let Some((l, t)) = self.physical()? {
                match t {
                    Ok(t) if t.starts_with(' ') => out.text.push_str(&t[1..]),
                    t => {
                        self.peeked = Some((l, t));
                        break;
                    }
                }
            }
            return Ok(Some(Ok(out)));
        }
    }

    /// Reads one logical line into the record being built; `Some` when a
    /// record ended.
    fn take(&mut self, l: Result<Logical, LdifError>) -> Option<Parsed> {
        let l = match l {
            Ok(l) => l,
            Err(e) => {
                self.seen_first = true;
                let at = e.line().unwrap_or(self.phys);
                match self.current.as_mut() {
                    Some(b) => {
                        b.error.get_or_insert(e);
                    }
                    None => {
                        self.current = Some(Building {
                            start: at,
                            dn: None,
                            dn_text: String::new(),
                            entry: RawEntry::default(),
                            error: Some(e),
                        });
                    }
                }
                return None;
            }
        };
        if l.text.trim().is_empty() {
            return self.current.take().map(Building::finish);
        }
        if self.current.is_some() && self.skipped(&l.text) {
            return None;
        }
        let parsed = attr_value(&l);
        let Some(b) = self.current.as_mut() else {
            let mut b = Building {
                start: l.line,
                dn: None,
                dn_text: String::new(),
                entry: RawEntry::default(),
                error: None,
            };
            let first = !self.seen_first;
            self.seen_first = true;
            match parsed {
                Err(e) => b.error = Some(e),
                Ok((name, value)) => {
                    let lname = name.to_ascii_lowercase();
                    if lname == "version" && first {
                        if value != b"1" {
                            b.error = Some(LdifError::syntax(
                                l.line,
                                "only LDIF version 1 is supported",
                            ));
                        } else {
                            return None;
                        }
                    } else if lname != "dn" {
                        b.error = Some(LdifError::syntax(
                            l.line,
                            format!("a record must start with 'dn:', found '{name}:'"),
                        ));
                    } else {
                        b.dn_text = l
                            .text
                            .split_once(':')
                            .map_or("", |(_, v)| v.trim_start_matches([':', ' ']))
                            .to_string();
                        match String::from_utf8(value) {
                            Ok(dn) => {
                                b.entry = RawEntry::new(dn.clone());
                                b.dn = Some(dn);
                            }
                            Err(_) => {
                                b.error =
                                    Some(LdifError::syntax(l.line, "the DN is not UTF-8 text"));
                            }
                        }
                    }
                }
            }
            self.current = Some(b);
            return None;
        };
        let (name, value) = match parsed {
            Ok(v) => v,
            Err(e) => {
                b.error.get_or_insert(e);
                return None;
            }
        };
        let lname = name.to_ascii_lowercase();
        let err = match lname.as_str() {
            "dn" => Some(LdifError::syntax(
                l.line,
                "a second 'dn:' inside one record (records are separated by a blank line)",
            )),
            "changetype" if value != b"add" => Some(LdifError::syntax(
                l.line,
                format!(
                    "'changetype: {}' is a change record; a snapshot holds only entries (use ldifde -f or ldapsearch -LLL to export)",
                    String::from_utf8_lossy(&value)
                ),
            )),
            "changetype" => None,
            "control" => Some(LdifError::syntax(
                l.line,
                "'control:' belongs to change records, not to a snapshot",
            )),
            _ => {
                let (base, options) = lname.split_once(';').unwrap_or((lname.as_str(), ""));
                let ranged = options
                    .split(';')
                    .filter_map(|o| o.strip_prefix("range="))
                    .find(|r| !r.ends_with("-*"));
                match ranged {
                    Some(range) => Some(LdifError::syntax(
                        l.line,
                        format!(
                            "{name}: the export holds only part of this multi-valued attribute (ranged retrieval, 'range={range}'); \
                             export with ldifde, or read the directory over LDAP, which follows ranges"
                        ),
                    )),
                    None => {
                        b.entry.push(base, value);
                        None
                    }
                }
            }
        };
        if let Some(e) = err {
            b.error.get_or_insert(e);
        }
        None
    }
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = Result<Parsed, LdifError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            match self.logical() {
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok(Some(l)) => {
                    if let Some(p) = self.take(l) {
                        return Some(Ok(p));
                    }
                }
                Ok(None) => {
                    self.done = true;
                    let b = self.current.take()?;
                    // The record reaches the file's last line.
                    self.unterminated = Some((b.start, self.phys.max(b.start), b.dn_text.clone()));
                    return Some(Ok(b.finish()));
                }
            }
        }
    }
}

/// Splits `name:value`, `name:: base64` or `name:< url`.
fn attr_value(l: &Logical) -> Result<(String, Vec<u8>), LdifError> {
    let Some(colon) = l.text.find(':') else {
        return Err(LdifError::syntax(
            l.line,
            format!("expected 'attribute: value', found '{}'", preview(&l.text)),
        ));
    };
    let name = &l.text[..colon];
    if name.is_empty()
        || !name.chars().all(|c| {
            c.is_ascii_alphanumeric() || c == '-' || c == ';' || c == '.' || c == '=' || c == '*'
        })
    {
        return Err(LdifError::syntax(
            l.line,
            format!("'{}' is not a valid attribute name", preview(name)),
        ));
    }
    let rest = &l.text[colon + 1..];
    let value = if let Some(b64) = rest.strip_prefix(':') {
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| {
                LdifError::syntax(
                    l.line,
                    format!("the base64 value of {name} is invalid ({e})"),
                )
            })?
    } else if rest.starts_with('<') {
        return Err(LdifError::syntax(
            l.line,
            format!("{name} takes its value from a URL ('{name}:<'), which dirsync does not follow; export the value inline"),
        ));
    } else {
        rest.trim_start_matches(' ').as_bytes().to_vec()
    };
    Ok((name.to_string(), value))
}

/// The first 60 characters of `s`, for messages.
pub(crate) fn preview(s: &str) -> String {
    let p: String = s.chars().take(60).collect();
    if p.len() < s.len() {
        format!("{p}...")
    } else {
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Vec<Parsed>, Option<Unterminated>) {
        let mut r = Records::new(text.as_bytes());
        let all: Vec<Parsed> = r.by_ref().map(Result::unwrap).collect();
        (all, r.unterminated().cloned())
    }

    /// (text, per record: Ok(dn, start line) or Err(start line, error line, dn), cut?)
    #[test]
    fn one_bad_record_does_not_stop_the_next() {
        type Want<'a> = Result<(&'a str, usize), (usize, usize, Option<&'a str>)>;
        let cases: [(&str, &[Want<'_>], bool); 7] = [
            ("", &[], false),
            ("dn: CN=a\nx: 1\n\n", &[Ok(("CN=a", 1))], false),
            (
                "version: 1\n\ndn: CN=a\nbad line\nmail: a\n\ndn: CN=b\n\n",
                &[Err((3, 4, Some("CN=a"))), Ok(("CN=b", 7))],
                false,
            ),
            (
                "objectClass: user\nmail: x\n\ndn: CN=b\n\n",
                &[Err((1, 1, None)), Ok(("CN=b", 4))],
                false,
            ),
            (
                " orphan\n\ndn: CN=b\n\n",
                &[Err((1, 1, None)), Ok(("CN=b", 3))],
                false,
            ),
            (
                "dn: CN=a\nmember;range=0-1499: CN=x\n\ndn:: !!\n\ndn: CN=c\nchangetype: modify\n\ndn: CN=d\n",
                &[
                    Err((1, 2, Some("CN=a"))),
                    Err((4, 4, None)),
                    Err((6, 7, Some("CN=c"))),
                    Ok(("CN=d", 9)),
                ],
                true,
            ),
            (
                "dn: CN=a\n# note\n  folded note\nmail: a@x\n  y\n\n",
                &[Ok(("CN=a", 1))],
                false,
            ),
        ];
        for (text, want, cut) in cases {
            let (got, unterminated) = read(text);
            let got: Vec<Want<'_>> = got
                .iter()
                .map(|p| match p {
                    Parsed::Entry { line, entry } => Ok((entry.dn.as_str(), *line)),
                    Parsed::Bad(b) => Err((b.start, b.error.line().unwrap(), b.dn.as_deref())),
                })
                .collect();
            assert_eq!(got, want, "{text:?}");
            assert_eq!(unterminated.is_some(), cut, "{text:?}");
        }
    }

    #[test]
    fn a_line_that_is_not_utf8_is_a_bad_record() {
        let text = b"dn: CN=a\r\nmail: \xff\r\n\r\ndn: CN=b\r\n\r\n";
        let got: Vec<Parsed> = Records::new(&text[..]).map(Result::unwrap).collect();
        assert!(
            matches!(&got[..], [Parsed::Bad(b), Parsed::Entry { line: 4, .. }]
                if b.error.line() == Some(2) && b.error.to_string().contains("not UTF-8")),
            "{got:?}"
        );
    }

    #[test]
    fn a_bad_record_keeps_what_could_be_read() {
        let (got, _) = read("dn: CN=a\nobjectClass: user\ndisplayName:: !!\nmail: a@x\n\n");
        let Parsed::Bad(b) = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(b.partial.values("objectClass"), [b"user".to_vec()]);
        assert_eq!(b.partial.values("mail"), [b"a@x".to_vec()]);
        assert!(
            b.error.to_string().contains("base64 value of displayName"),
            "{}",
            b.error
        );
    }
}
