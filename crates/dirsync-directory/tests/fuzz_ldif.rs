//! A stable-toolchain fuzz harness for the LDIF reader (no nightly, no
//! libFuzzer): deterministic pseudo-random mutations of a seed corpus, plus a
//! round-trip property (random entries written with random folding and
//! base64 read back identically).
//!
//! CI runs a short pass as part of `cargo test`. For a longer run:
//! `DIRSYNC_FUZZ_ITERS=2000000 DIRSYNC_FUZZ_SEED=$RANDOM cargo test -p dirsync-directory --release --test fuzz_ldif`.
//! The libFuzzer target for nightly users is `crates/dirsync-directory/fuzz` (see its README).

use base64::Engine as _;
use dirsync_directory::entry::RawEntry;
use dirsync_directory::ldif::{parse_entries, read_snapshot, LdifError};
use dirsync_directory::Scope;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn iters(default: usize) -> usize {
    std::env::var("DIRSYNC_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn seed() -> u64 {
    std::env::var("DIRSYNC_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_1d1f)
        | 1
}

const CORPUS: &[&str] = &[
    "version: 1\n\n# comment\n  folded comment\ndn: CN=Exchange,OU=Groups,DC=example,DC=com\nobjectClass: top\nobjectClass: group\nobjectGUID:: tvDT8jatVk6McBorPE1ebw==\nmember: CN=a,DC=example,DC=com\nmember;range=0-*: CN=b,DC=example,DC=com\n\ndn: CN=a,DC=example,DC=com\nobjectClass: user\nobjectGUID:: AAECAwQFBgcICQoLDA0ODw==\nmail: a@example.com\nproxyAddresses: SMTP:a@ex\n ample.com\nuserAccountControl: 514\nuSNChanged: 77\n\n",
    "\r\ndn: CN=Exchange,DC=example,DC=com\r\nchangetype: add\r\nobjectClass: group\r\nobjectGUID:: tvDT8jatVk6McBorPE1ebw==\r\nmember: CN=c,DC=example,DC=com\r\n\r\ndn: CN=c,DC=example,DC=com\r\nchangetype: add\r\nobjectClass: contact\r\nobjectGUID:: EBESExQVFhcYGRobHB0eHw==\r\ndisplayName:: QsOzYg==\r\n\r\n",
    "dn:: Q049RXhjaGFuZ2UsREM9ZXhhbXBsZSxEQz1jb20=\nobjectClass: group\nobjectGUID:: tvDT8jatVk6McBorPE1ebw==\n",
];

const TOKENS: &[&str] = &[
    "\n",
    "\r\n",
    " ",
    ":",
    "::",
    ":<",
    "#",
    "dn:",
    "-",
    "=",
    ",",
    "\n ",
    "\n\n",
    "member;range=0-1499:",
    "version: 1\n",
    "changetype: modify\n",
    "objectGUID:: ",
    "\u{feff}",
    "é",
    "\0",
];

fn mutate(rng: &mut Rng, input: &str) -> String {
    let mut s: Vec<char> = input.chars().collect();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(s.len() + 1);
        match rng.below(5) {
            0 if !s.is_empty() => {
                let end = (at + rng.below(20)).min(s.len());
                s.drain(at.min(end)..end);
            }
            1 => {
                let t: Vec<char> = TOKENS[rng.below(TOKENS.len())].chars().collect();
                s.splice(at..at, t);
            }
            2 if !s.is_empty() => {
                let i = rng.below(s.len());
                s[i] = char::from_u32(rng.below(0x250) as u32).unwrap_or('x');
            }
            3 if !s.is_empty() => {
                // duplicate a slice
                let a = rng.below(s.len());
                let b = (a + rng.below(40)).min(s.len());
                let piece: Vec<char> = s[a..b].to_vec();
                s.splice(at..at, piece);
            }
            _ => s.truncate(at),
        }
    }
    s.into_iter().collect()
}

fn check(input: &str) {
    let scope = Scope::new(Some("Exchange"), None).unwrap();
    let lines = input.split('\n').count();
    match read_snapshot(input, &scope) {
        Ok(s) => assert!(s.exchange_group.is_some()),
        Err(e) => {
            if let Some(l) = e.line() {
                assert!(
                    l >= 1 && l <= lines,
                    "line {l} out of 1..={lines} for {input:?}: {e}"
                );
            }
            assert!(!e.to_string().is_empty());
            if let LdifError::Syntax { message, .. } = &e {
                assert!(!message.is_empty());
            }
        }
    }
}

#[test]
fn mutated_inputs_never_panic_and_errors_name_a_real_line() {
    let mut rng = Rng(seed());
    for seed_text in CORPUS {
        check(seed_text);
    }
    for _ in 0..iters(20_000) {
        let base = CORPUS[rng.below(CORPUS.len())];
        let mut text = mutate(&mut rng, base);
        if rng.below(4) == 0 {
            text = mutate(&mut rng, &text);
        }
        check(&text);
    }
}

fn write_ldif(rng: &mut Rng, entries: &[RawEntry]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = String::new();
    if rng.below(2) == 0 {
        out.push_str("version: 1\n\n");
    }
    let nl = if rng.below(2) == 0 { "\n" } else { "\r\n" };
    for e in entries {
        let mut lines = vec![format!("dn:: {}", b64.encode(e.dn.as_bytes()))];
        let mut names: Vec<&String> = e.attrs.keys().collect();
        names.sort();
        for n in names {
            for v in &e.attrs[n] {
                match std::str::from_utf8(v) {
                    Ok(t)
                        if rng.below(3) > 0
                            && t.is_ascii()
                            && !t.starts_with([' ', ':', '<'])
                            && !t.contains(['\n', '\r']) =>
                    {
                        lines.push(format!("{n}: {t}"));
                    }
                    _ => lines.push(format!("{n}:: {}", b64.encode(v))),
                }
            }
        }
        if rng.below(3) == 0 {
            lines.insert(1, "# a comment".into());
        }
        for l in lines {
            // Fold at random points (on char boundaries).
            let chars: Vec<char> = l.chars().collect();
            let mut i = 0;
            let mut first = true;
            while i < chars.len() {
                let w = 1 + rng.below(76);
                let end = (i + w).min(chars.len());
                if !first {
                    out.push(' ');
                }
                out.extend(&chars[i..end]);
                out.push_str(nl);
                i = end;
                first = false;
            }
        }
        out.push_str(nl);
    }
    out
}

#[test]
fn random_entries_round_trip_through_ldif() {
    let mut rng = Rng(seed());
    for _ in 0..iters(20_000) / 10 {
        let n = rng.below(4);
        let entries: Vec<RawEntry> = (0..n)
            .map(|i| {
                let mut e = RawEntry::new(format!("CN=user {i} é,OU=Staff,DC=example,DC=com"));
                for _ in 0..rng.below(6) {
                    let name = [
                        "mail",
                        "objectguid",
                        "displayname",
                        "proxyaddresses",
                        "member",
                    ][rng.below(5)];
                    let len = rng.below(40);
                    let v: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
                    e.push(name, v);
                }
                e
            })
            .collect();
        let text = write_ldif(&mut rng, &entries);
        let parsed: Vec<RawEntry> = parse_entries(&text)
            .unwrap_or_else(|e| panic!("{e}\n{text:?}"))
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        assert_eq!(parsed, entries, "{text:?}");
    }
}
