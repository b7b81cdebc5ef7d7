//! Active Directory over LDAP(S): connection, bind, paged and ranged searches.
//! The full scoped read built on them is in `full_read.rs`.

use std::sync::Arc;
use std::time::Duration;

use dirsync_model::{DirectoryObject, Guid};
use ldap3::controls::{Control, PagedResults, RawControl};
use ldap3::{
    LdapConnAsync, LdapConnSettings, LdapError, ResultEntry, Scope as LdapScope, SearchEntry,
};

use crate::config::{LdapConfig, Transport};
use crate::controls::ber;
use crate::entry::{RawEntry, ATTRIBUTES};
use crate::error::{bind_failure_reason, result_code_name, LdapSourceError};
use crate::ldap_errors::{connect_error, op_error, op_error_within, Ended};

const PAGED_RESULTS_OID: &str = "1.2.840.113556.1.4.319";
/// The filter for the objects dirsync reads.
pub(crate) const KINDS_FILTER: &str =
    "(|(objectClass=user)(objectClass=group)(objectClass=contact))";
/// Ranged retrieval window for `member` (AD's default MaxValRange).
pub(crate) const MEMBER_RANGE: usize = 1500;

/// A bound connection to a domain controller.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use dirsync_directory::{LdapConfig, LdapSource, Secret, Scope};
/// let cfg = LdapConfig::new("ldaps://dc1.example.com", "svc-dirsync@example.com", Secret::new("..."));
/// let mut src = LdapSource::connect(cfg).await?;
/// let snapshot = src.full(&Scope::new(Some("Exchange Users"), None)?).await?;
/// # Ok(()) }
/// ```
pub struct LdapSource {
    pub(crate) ldap: ldap3::Ldap,
    pub(crate) cfg: LdapConfig,
    pub(crate) base_dn: String,
    pub(crate) stats: SourceStats,
}

/// What a connection has cost so far: lets callers (and tests) see that an
/// idle incremental read stays cheap without timing it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// LDAP search requests sent (each page of a paged search counts).
    pub searches: u64,
    /// Times the incremental reader recomputed which objects are in scope
    /// (re-reading the service groups' membership).
    pub scope_recomputations: u64,
    /// Times the incremental reader updated the scope set from the
    /// membership changes DirSync reported (cost: a few reads per change).
    pub scope_updates: u64,
    /// Incremental reads that searched for changes (DirSync or uSNChanged).
    pub change_searches: u64,
    /// Incremental reads answered "no changes" without searching, because
    /// the domain controller's `highestCommittedUSN` had not moved.
    pub idle_shortcuts: u64,
}

impl std::fmt::Debug for LdapSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapSource")
            .field("url", &self.cfg.url)
            .field("base_dn", &self.base_dn)
            .finish()
    }
}

fn load_ca(path: &std::path::Path) -> Result<rustls::RootCertStore, LdapSourceError> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let bad = |m: String| LdapSourceError::Config(format!("the CA file '{}' {m}", path.display()));
    let mut roots = rustls::RootCertStore::empty();
    let certs =
        CertificateDer::pem_file_iter(path).map_err(|e| bad(format!("cannot be read: {e}")))?;
    for cert in certs {
        let cert = cert.map_err(|e| bad(format!("is not valid PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| bad(format!("holds a certificate rustls cannot use: {e}")))?;
    }
    if roots.is_empty() {
        return Err(bad("holds no PEM certificate".into()));
    }
    Ok(roots)
}

impl LdapSource {
    /// Connects (TLS verified unless turned off), binds, and finds the base DN.
    pub async fn connect(cfg: LdapConfig) -> Result<LdapSource, LdapSourceError> {
        let transport = cfg.validate()?;
        let url = cfg.url.trim().to_string();
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(cfg.timeout)
            .set_starttls(transport == Transport::StartTls);
        if !cfg.tls_verify {
            tracing::warn!(
                url = %url,
                "TLS CERTIFICATE VERIFICATION IS OFF for the directory connection: anyone on the network path can impersonate the domain controller and read the bind password. Set a CA file instead."
            );
            settings = settings.set_no_tls_verify(true);
        } else if let Some(ca) = &cfg.ca_file {
            let roots = load_ca(ca)?;
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| LdapSourceError::Config(format!("TLS setup: {e}")))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            settings = settings.set_config(Arc::new(config));
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &url)
            .await
            .map_err(|e| connect_error(&url, e))?;
        ldap3::drive!(conn);
        let bind = ldap
            .with_timeout(cfg.timeout)
            .simple_bind(&cfg.bind_dn, cfg.password.expose())
            .await
            .map_err(|e| op_error(&cfg, "the bind", e))?;
        match bind.rc {
            0 => {}
            49 => {
                let (data_code, reason) = bind_failure_reason(&bind.text);
                return Err(LdapSourceError::BadCredentials {
                    bind_dn: cfg.bind_dn.clone(),
                    reason,
                    data_code,
                });
            }
            8 | 13 => {
                return Err(LdapSourceError::Config(format!(
                    "the directory requires a stronger protection for the bind ({}): {}",
                    result_code_name(bind.rc),
                    bind.text
                )))
            }
            rc => {
                return Err(LdapSourceError::Server {
                    action: "the bind".into(),
                    rc,
                    name: result_code_name(rc),
                    text: bind.text,
                })
            }
        }
        let mut src = LdapSource {
            ldap,
            base_dn: String::new(),
            cfg,
            stats: SourceStats::default(),
        };
        src.base_dn = match src.cfg.base_dn.clone().filter(|b| !b.trim().is_empty()) {
            Some(b) => {
                src.check_base_dn(&b).await?;
                b
            }
            None => src
                .root_dse_attr("defaultNamingContext")
                .await?
                .ok_or_else(|| {
                    LdapSourceError::Config(
                        "the server's rootDSE names no defaultNamingContext; set base_dn".into(),
                    )
                })?,
        };
        Ok(src)
    }

    /// Makes a configured base DN that names nothing fail at connect, with
    /// the fix, instead of as an opaque noSuchObject from the first read
    /// (or, for DirSync, a Samba source-file location).
    async fn check_base_dn(&mut self, base: &str) -> Result<(), LdapSourceError> {
        if self
            .read_entry(base, &["1.1"], "checking the base DN")
            .await?
            .is_some()
        {
            return Ok(());
        }
        let domain = self
            .root_dse_attr("defaultNamingContext")
            .await
            .ok()
            .flatten()
            .map(|d| format!(" ('{d}' on this server)"))
            .unwrap_or_default();
        Err(LdapSourceError::Config(format!(
            "the base DN '{base}' does not exist in the directory; correct base_dn, or leave it unset to search the whole domain{domain}"
        )))
    }

    /// Reads one entry by DN or `<GUID=...>` with `attrs`; `None` when it
    /// does not exist (noSuchObject).
    pub(crate) async fn read_entry(
        &mut self,
        base: &str,
        attrs: &[&str],
        action: &str,
    ) -> Result<Option<RawEntry>, LdapSourceError> {
        match self
            .search_page(
                base,
                LdapScope::Base,
                "(objectClass=*)",
                attrs,
                vec![],
                action,
            )
            .await
        {
            Err(LdapSourceError::Server { rc: 32, .. }) => Ok(None),
            r => Ok(r?.0.into_iter().next()),
        }
    }

    /// Counters of the work done on this connection since it was opened.
    pub fn stats(&self) -> SourceStats {
        self.stats
    }

    /// The search base in use.
    pub fn base_dn(&self) -> &str {
        &self.base_dn
    }

    /// Closes the connection politely.
    pub async fn unbind(mut self) {
        let _ = self.ldap.unbind().await;
    }

    pub(crate) async fn root_dse_attr(
        &mut self,
        attr: &str,
    ) -> Result<Option<String>, LdapSourceError> {
        let root = self.read_entry("", &[attr], "reading the rootDSE").await?;
        Ok(root
            .as_ref()
            .and_then(|e| e.values(attr).first())
            .map(|v| String::from_utf8_lossy(v).into_owned()))
    }

    /// One search request (no paging), entries converted, referrals dropped.
    pub(crate) async fn search_page(
        &mut self,
        base: &str,
        scope: LdapScope,
        filter: &str,
        attrs: &[&str],
        controls: Vec<RawControl>,
        action: &str,
    ) -> Result<(Vec<RawEntry>, Vec<Control>), LdapSourceError> {
        let timeout = self.cfg.timeout;
        self.search_page_within(timeout, base, scope, filter, attrs, controls, action)
            .await
    }

    /// [`Self::search_page`] with its own timeout (DirSync's first read walks the whole domain).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn search_page_within(
        &mut self,
        timeout: Duration,
        base: &str,
        scope: LdapScope,
        filter: &str,
        attrs: &[&str],
        controls: Vec<RawControl>,
        action: &str,
    ) -> Result<(Vec<RawEntry>, Vec<Control>), LdapSourceError> {
        self.stats.searches += 1;
        let started = std::time::Instant::now();
        let res = self
            .ldap
            .with_timeout(timeout)
            .with_controls(controls)
            .search(base, scope, filter, attrs.to_vec())
            .await
            .map_err(|e| op_error_within(&self.cfg, action, timeout, e))?;
        let ldap3::SearchResult(raw_entries, result) = res;
        let ended = Ended {
            action,
            base,
            filter,
            started,
        };
        ended.check(&self.cfg, raw_entries.len(), &result)?;
        let entries = raw_entries.into_iter().filter_map(to_raw_entry).collect();
        Ok((entries, result.ctrls))
    }

    /// A complete paged search (pages of at most `page_size`, capped at 1000).
    pub(crate) async fn paged_search(
        &mut self,
        base: &str,
        filter: &str,
        attrs: &[&str],
        extra: Vec<RawControl>,
        action: &str,
    ) -> Result<Vec<RawEntry>, LdapSourceError> {
        let mut out = Vec::new();
        let mut cookie: Vec<u8> = Vec::new();
        loop {
            let (entries, next) = self
                .search_next_page(base, filter, attrs, &extra, &cookie, action)
                .await?;
            out.extend(entries);
            match next {
                Some(c) => cookie = c,
                None => return Ok(out),
            }
        }
    }

    /// A complete paged search under `base`, each entry handed to `each`
    /// as it arrives ([`Self::stream_page`]): what a caller keeps of the
    /// entries is all that stays in memory, never the whole result.
    pub(crate) async fn paged_each(
        &mut self,
        base: &str,
        filter: &str,
        attrs: &[&str],
        action: &str,
        mut each: impl FnMut(RawEntry) -> Result<(), LdapSourceError>,
    ) -> Result<(), LdapSourceError> {
        let mut cookie: Vec<u8> = Vec::new();
        loop {
            match self
                .stream_page(base, filter, attrs, &cookie, action, &mut each)
                .await?
            {
                Some(c) => cookie = c,
                None => return Ok(()),
            }
        }
    }

    /// One page of a paged search; returns the entries and the cookie for the
    /// next page (`None` after the last page).
    pub(crate) async fn search_next_page(
        &mut self,
        base: &str,
        filter: &str,
        attrs: &[&str],
        extra: &[RawControl],
        cookie: &[u8],
        action: &str,
    ) -> Result<(Vec<RawEntry>, Option<Vec<u8>>), LdapSourceError> {
        let size = self.cfg.page_size.clamp(1, 1000) as i64;
        let mut ctrls = extra.to_vec();
        ctrls.push(paged_control(size, cookie));
        let (entries, resp) = self
            .search_page(base, LdapScope::Subtree, filter, attrs, ctrls, action)
            .await?;
        Ok((entries, next_page_cookie(&resp, action)?))
    }

    /// Follows ranged retrieval of `member` until every value is read.
    pub(crate) async fn complete_members(
        &mut self,
        e: &mut RawEntry,
    ) -> Result<(), LdapSourceError> {
        let ranged = ranged_member_keys(e);
        for key in ranged {
            let mut values = e.attrs.remove(&key).unwrap_or_default();
            let mut high = range_high(&key);
            while let Some(h) = high {
                let want = format!("member;range={}-*", h + 1);
                let action = format!("reading the members of '{}'", e.dn);
                let (entries, _) = self
                    .search_page(
                        &e.dn,
                        LdapScope::Base,
                        "(objectClass=*)",
                        &[want.as_str()],
                        vec![],
                        &action,
                    )
                    .await?;
                let Some(next) = entries.into_iter().next() else {
                    break;
                };
                let Some((k, v)) = next
                    .attrs
                    .into_iter()
                    .find(|(k, _)| k.starts_with("member;range="))
                else {
                    break;
                };
                values.extend(v);
                high = range_high(&k);
            }
            e.attrs.entry("member".into()).or_default().extend(values);
        }
        Ok(())
    }

    /// The attribute list for object reads: `member` is asked for in ranges of
    /// 1500 explicitly, so ranged retrieval behaves the same on every server.
    pub(crate) fn object_attrs() -> Vec<String> {
        ATTRIBUTES
            .iter()
            .map(|a| {
                if *a == "member" {
                    format!("member;range=0-{}", MEMBER_RANGE - 1)
                } else {
                    a.to_string()
                }
            })
            .collect()
    }

    /// Reads and normalises objects matching a filter under the base DN.
    pub(crate) async fn read_objects(
        &mut self,
        filter: &str,
        action: &str,
    ) -> Result<Vec<DirectoryObject>, LdapSourceError> {
        let mut out = Vec::new();
        self.read_objects_each(filter, action, |o| out.push(o))
            .await?;
        Ok(out)
    }

    /// Reads the objects matching a filter under the base DN and hands each
    /// to `each` as soon as it is converted: at most one page of raw
    /// entries is held (ldap3 delivers a page entry by entry, and each is
    /// converted and dropped as it arrives). A group whose `member` needs
    /// more ranges is kept raw until its page ends, then completed.
    pub(crate) async fn read_objects_each(
        &mut self,
        filter: &str,
        action: &str,
        mut each: impl FnMut(DirectoryObject),
    ) -> Result<(), LdapSourceError> {
        let attrs = Self::object_attrs();
        let attrs: Vec<&str> = attrs.iter().map(String::as_str).collect();
        let base = self.base_dn.clone();
        let mut cookie: Vec<u8> = Vec::new();
        loop {
            let mut ranged: Vec<RawEntry> = Vec::new();
            let next = self
                .stream_page(&base, filter, &attrs, &cookie, action, |mut e| {
                    if !fold_last_ranges(&mut e) {
                        ranged.push(e);
                        return Ok(());
                    }
                    if let Some(o) = e.into_object()? {
                        each(o);
                    }
                    Ok(())
                })
                .await?;
            for mut e in ranged {
                self.complete_members(&mut e).await?;
                if let Some(o) = e.into_object()? {
                    each(o);
                }
            }
            match next {
                Some(c) => cookie = c,
                None => return Ok(()),
            }
        }
    }

    /// One page of a paged search under `base`, each entry handed to
    /// `each` as ldap3 delivers it (never the whole page as one vector);
    /// returns the cookie for the next page (`None` after the last page).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn stream_page(
        &mut self,
        base: &str,
        filter: &str,
        attrs: &[&str],
        cookie: &[u8],
        action: &str,
        mut each: impl FnMut(RawEntry) -> Result<(), LdapSourceError>,
    ) -> Result<Option<Vec<u8>>, LdapSourceError> {
        self.stats.searches += 1;
        let started = std::time::Instant::now();
        let size = self.cfg.page_size.clamp(1, 1000) as i64;
        let timeout = self.cfg.timeout;
        let cfg = &self.cfg;
        let fail = |e: LdapError| op_error_within(cfg, action, timeout, e);
        let mut stream = self
            .ldap
            .with_timeout(timeout)
            .with_controls(vec![paged_control(size, cookie)])
            .streaming_search(base, LdapScope::Subtree, filter, attrs.to_vec())
            .await
            .map_err(fail)?;
        let mut entries = 0usize;
        while let Some(re) = stream.next().await.map_err(fail)? {
            if let Some(e) = to_raw_entry(re) {
                entries += 1;
                each(e)?;
            }
        }
        let result = stream.finish().await;
        let ended = Ended {
            action,
            base,
            filter,
            started,
        };
        ended.check(&self.cfg, entries, &result)?;
        next_page_cookie(&result.ctrls, action)
    }

    /// Reads one object by DN or `<GUID=...>`; `None` when it does not exist.
    pub(crate) async fn read_one(
        &mut self,
        base: &str,
    ) -> Result<Option<DirectoryObject>, LdapSourceError> {
        let attrs = Self::object_attrs();
        let attrs: Vec<&str> = attrs.iter().map(String::as_str).collect();
        let action = format!("reading '{base}'");
        let Some(mut e) = self.read_entry(base, &attrs, &action).await? else {
            return Ok(None);
        };
        self.complete_members(&mut e).await?;
        Ok(e.into_object()?)
    }

    /// Reads an object by GUID (AD's `<GUID=...>` DN syntax).
    pub(crate) async fn read_guid(
        &mut self,
        guid: Guid,
    ) -> Result<Option<DirectoryObject>, LdapSourceError> {
        self.read_one(&format!("<GUID={guid}>")).await
    }
}

/// The entry's `member;range=…` attribute names (a group with more members
/// than one answer holds).
fn ranged_member_keys(e: &RawEntry) -> Vec<String> {
    e.attrs
        .keys()
        .filter(|k| k.starts_with("member;range="))
        .cloned()
        .collect()
}

/// Renames `member;range=N-*` (the last range, all values read) to
/// `member`; false when a range has more values to read
/// ([`LdapSource::complete_members`]).
fn fold_last_ranges(e: &mut RawEntry) -> bool {
    let ranged = ranged_member_keys(e);
    if ranged.iter().any(|k| range_high(k).is_some()) {
        return false;
    }
    for key in ranged {
        let values = e.attrs.remove(&key).unwrap_or_default();
        e.attrs.entry("member".into()).or_default().extend(values);
    }
    true
}

fn to_raw_entry(re: ResultEntry) -> Option<RawEntry> {
    if re.is_ref() || re.is_intermediate() {
        return None;
    }
    let se = SearchEntry::construct(re);
    let mut e = RawEntry::new(se.dn);
    for (k, vals) in se.attrs {
        for v in vals {
            e.push(&k, v.into_bytes());
        }
    }
    for (k, vals) in se.bin_attrs {
        for v in vals {
            e.push(&k, v);
        }
    }
    Some(e)
}

fn paged_control(size: i64, cookie: &[u8]) -> RawControl {
    PagedResults {
        size: size.clamp(0, i32::MAX as i64) as i32,
        cookie: cookie.to_vec(),
    }
    .into()
}

/// The cookie of a paged-results reply. ldap3's own `PagedResults` parser
/// panics on a malformed value, so the reply is read with checks here.
fn parse_paged_cookie(val: &[u8]) -> Result<Vec<u8>, ber::BerError> {
    let mut r = ber::read_sequence(val, "paged results SEQUENCE")?;
    r.read_integer("paged results size")?;
    r.read_octets("paged results cookie")
}

/// `member;range=0-1499` → `Some(1499)`; `member;range=1500-*` → `None`.
fn range_high(key: &str) -> Option<usize> {
    let range = key.split(";range=").nth(1)?;
    let (_, high) = range.split_once('-')?;
    high.parse().ok()
}

/// The paged-results cookie of the next page in a search's response
/// controls; `None` after the last page (no control, or an empty cookie).
fn next_page_cookie(ctrls: &[Control], action: &str) -> Result<Option<Vec<u8>>, LdapSourceError> {
    let next = match ctrls.iter().find(|c| c.1.ctype == PAGED_RESULTS_OID) {
        Some(c) => parse_paged_cookie(c.1.val.as_deref().unwrap_or_default()).map_err(|e| {
            LdapSourceError::Protocol {
                action: action.into(),
                cause: e.to_string(),
            }
        })?,
        None => Vec::new(),
    };
    Ok(Some(next).filter(|c| !c.is_empty()))
}

/// Default timeout used by helpers that build a config from parts.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(range_high("member;range=0-1499"), Some(1499));
        assert_eq!(range_high("member;range=1500-*"), None);
        assert_eq!(range_high("member"), None);
    }

    #[test]
    fn last_ranges_fold_into_member_and_open_ones_wait() {
        let entry = |keys: &[(&str, &[&str])]| {
            let mut e = RawEntry::new("CN=G,DC=x");
            for (k, vals) in keys {
                for v in *vals {
                    e.push(k, v.as_bytes().to_vec());
                }
            }
            e
        };
        // (attributes, complete?, members after folding)
        type Attrs<'a> = Vec<(&'a str, &'a [&'a str])>;
        let cases: Vec<(Attrs<'_>, bool, Vec<&str>)> = vec![
            (vec![("cn", &["G"])], true, vec![]),
            (
                vec![("member;range=0-*", &["CN=A", "CN=B"])],
                true,
                vec!["CN=A", "CN=B"],
            ),
            (vec![("member", &["CN=A"])], true, vec!["CN=A"]),
            (vec![("member;range=0-1499", &["CN=A"])], false, vec![]),
            (
                vec![
                    ("member;range=0-1499", &["CN=A"]),
                    ("member;range=1500-*", &["CN=B"]),
                ],
                false,
                vec![],
            ),
        ];
        for (attrs, complete, members) in cases {
            let mut e = entry(&attrs);
            assert_eq!(fold_last_ranges(&mut e), complete, "{attrs:?}");
            if complete {
                let got: Vec<&[u8]> = e.values("member").iter().map(Vec::as_slice).collect();
                let want: Vec<&[u8]> = members.iter().map(|m| m.as_bytes()).collect();
                assert_eq!(got, want, "{attrs:?}");
                assert!(
                    !e.attrs.keys().any(|k| k.starts_with("member;")),
                    "{attrs:?}"
                );
            } else {
                assert_eq!(e, entry(&attrs), "left as read: {attrs:?}");
            }
        }
    }

    #[test]
    fn paged_cookie_round_trip() {
        let c = paged_control(1000, b"abc");
        assert_eq!(
            parse_paged_cookie(c.val.as_deref().unwrap()).unwrap(),
            b"abc"
        );
        assert!(!c.crit);
        assert_eq!(
            c.val.as_deref().unwrap(),
            &[0x30, 0x09, 0x02, 0x02, 0x03, 0xe8, 0x04, 0x03, b'a', b'b', b'c']
        );
        assert!(parse_paged_cookie(&[0x30, 0x01]).is_err());
        assert!(parse_paged_cookie(&[0x30, 0x03, 0x04, 0x01, 0x00]).is_err());
    }
}
