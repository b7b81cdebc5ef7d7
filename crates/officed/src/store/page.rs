//! Paging and index-search parameters of list calls (`size`, `offset`,
//! `fields`, `enabled`, `startswith`/`contains`, `domainNames`): validated
//! once, then turned into SQL conditions by [`Page::filter_sql`].

use cloudoffice_api::paths;
use cloudoffice_api::types::PageQuery;

use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use super::count_i64;
use crate::error::{Error, Result};
use crate::validate;

/// Paging and filter parameters of a list call, already validated.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub size: u32,
    pub offset: u32,
    /// `fields=`: documented extras asked for, by wire name.
    pub fields: Vec<String>,
    /// `enabled=true|false` (mailboxes).
    pub enabled: Option<bool>,
    /// `startswith=` or `contains=`.
    pub search: Option<Search>,
    /// Domain index `domainNames=`: only these (lower case).
    pub names: Vec<String>,
}

/// The documented index search: one of `startswith=` or `contains=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// `startswith=`; `0-9` means "starts with a digit".
    StartsWith(String),
    Contains(String),
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

impl Page {
    /// Validates a query: size 1..=250 (default 50), offset >= 0, at most
    /// one of `startswith`/`contains`, `enabled` a boolean.
    pub fn from_query(q: PageQuery) -> Result<Page> {
        let size = q.size.unwrap_or(paths::DEFAULT_PAGE_SIZE);
        if size == 0 || size > paths::MAX_PAGE_SIZE {
            return Err(Error::bad_request(
                format!("The page size {size} is invalid."),
                format!("size must be between 1 and {}.", paths::MAX_PAGE_SIZE),
            ));
        }
        let search = match (q.startswith, q.contains) {
            (Some(_), Some(_)) => {
                return Err(Error::bad_request(
                    "Only one of startswith and contains may be given.",
                    "The index search takes either ?startswith=xx or ?contains=xx, not both.",
                ))
            }
            (Some(s), None) => Some(Search::StartsWith(s)),
            (None, Some(c)) => Some(Search::Contains(c)),
            (None, None) => None,
        };
        let enabled = match q.enabled.as_deref() {
            None => None,
            Some(v) => Some(cloudoffice_api::lenient::parse_bool(v).ok_or_else(|| {
                Error::bad_request(
                    format!("Invalid value for enabled: {}", validate::printable(v)),
                    "enabled= takes true or false.",
                )
            })?),
        };
        let fields = q
            .fields
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect();
        let names = q
            .domain_names
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(|n| n.trim().to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        Ok(Page {
            size,
            offset: q.offset.unwrap_or(0),
            fields,
            enabled,
            search,
            names,
        })
    }

    /// The filter as SQL conditions (each starting with ` AND `), with
    /// placeholders from `$next` on, and their values. `name_col` holds
    /// lower-case keys; `search_cols` are also searched (case-insensitively).
    pub fn filter_sql(
        &self,
        name_col: &str,
        search_cols: &[&str],
        enabled_col: Option<&str>,
        next: usize,
    ) -> (String, Vec<String>) {
        let mut sql = String::new();
        let mut binds = Vec::new();
        if let (Some(e), Some(col)) = (self.enabled, enabled_col) {
            sql.push_str(&format!(" AND {col} = {}", i64::from(e)));
        }
        match &self.search {
            Some(Search::StartsWith(s)) if s == "0-9" => {
                sql.push_str(&format!(" AND {name_col} >= '0' AND {name_col} < ':'"));
            }
            Some(search) => {
                let pattern = match search {
                    Search::StartsWith(w) => format!("{}%", like_escape(&w.to_lowercase())),
                    Search::Contains(w) => format!("%{}%", like_escape(&w.to_lowercase())),
                };
                let mut ors = vec![format!("{name_col} LIKE ${} ESCAPE '\\'", next)];
                for c in search_cols {
                    ors.push(format!("LOWER({c}) LIKE ${next} ESCAPE '\\'"));
                }
                sql.push_str(&format!(" AND ({})", ors.join(" OR ")));
                binds.push(pattern);
            }
            None => {}
        }
        (sql, binds)
    }
}

/// What a list call reads: rows of `table` within `scope` (SQL conditions
/// on `$1`.., bound to `binds`), narrowed by the page's filter, ordered by
/// `name_key`.
pub(crate) struct Listing<'a> {
    /// The `SELECT` columns.
    pub cols: &'a str,
    pub table: &'a str,
    pub scope: &'a str,
    pub binds: Vec<String>,
    /// Columns `startswith=`/`contains=` also search, besides `name_key`.
    pub search_cols: &'a [&'a str],
    /// The column `enabled=` filters on, if the resource has one.
    pub enabled_col: Option<&'a str>,
}

impl Listing<'_> {
    /// One page of rows and the filtered total.
    pub(crate) async fn fetch(
        &self,
        c: &mut AnyConnection,
        page: &Page,
    ) -> Result<(Vec<AnyRow>, u32)> {
        let next = self.binds.len() + 1;
        let (filter, filter_binds) =
            page.filter_sql("name_key", self.search_cols, self.enabled_col, next);
        let (cols, table, scope) = (self.cols, self.table, self.scope);
        let sql = format!(
            "SELECT {cols} FROM {table} WHERE {scope}{filter} ORDER BY name_key LIMIT {} OFFSET {}",
            page.size, page.offset
        );
        let binds: Vec<&str> = self
            .binds
            .iter()
            .chain(&filter_binds)
            .map(String::as_str)
            .collect();
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b.to_string());
        }
        let rows = q.fetch_all(&mut *c).await?;
        let count = format!("SELECT COUNT(*) FROM {table} WHERE {scope}{filter}");
        let total = count_i64(c, &count, &binds).await?;
        Ok((rows, total as u32))
    }
}
