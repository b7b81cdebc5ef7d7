//! Database access: one portable schema on SQLite or PostgreSQL through
//! sqlx's `Any` driver, with numbered migrations applied at start.
//!
//! Why `Any` and one migration set: the rules live in the schema (the
//! address primary key, the per-domain lock row), so keeping a single SQL
//! text for both backends means both enforce exactly the same thing. The
//! SQL sticks to the common subset: TEXT ids, BIGINT integers and flags,
//! `$n` placeholders (SQLite accepts them), `INSERT .. ON CONFLICT DO
//! NOTHING` and `RETURNING` (both; SQLite since 3.35, and sqlx bundles a
//! newer one), no `FOR UPDATE` (outside PostgreSQL's own one-statement
//! writes, `store::pg_writes`).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, AnyPool, Connection, Executor, Row};

use crate::conns::{Held, HeldConns, Setup};
use crate::error::{Error, Result};
use crate::store::group::GroupWriter;

/// How many connections [`Db::reader`] keeps on SQLite.
const SQLITE_HELD: usize = 4;
/// How many on PostgreSQL (besides the pool's 10): one per concurrent
/// request of a busy client.
const POSTGRES_HELD: usize = 10;

/// Which backend a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The migrations, in order. Add new files as `NNNN_name.sql`; never edit
/// an applied one.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (
        2,
        "api key rename permission",
        include_str!("../migrations/0002_api_key_rename_permission.sql"),
    ),
    (
        3,
        "shared throttle counters",
        include_str!("../migrations/0003_shared_throttle.sql"),
    ),
    (
        4,
        "licence counters and an index of live mailboxes",
        include_str!("../migrations/0004_licence_counters.sql"),
    ),
    (
        5,
        "distribution list settings",
        include_str!("../migrations/0005_list_settings.sql"),
    ),
    (
        6,
        "rackspace email login tokens",
        include_str!("../migrations/0006_login_tokens.sql"),
    ),
    (
        7,
        "spam settings and lists",
        include_str!("../migrations/0007_spam.sql"),
    ),
    (
        8,
        "domain administration and alternate domains",
        include_str!("../migrations/0008_domain_admin.sql"),
    ),
    (
        9,
        "domain aliases indexed by domain",
        include_str!("../migrations/0009_domain_alias_index.sql"),
    ),
];

/// How long a pooled connection may sit idle before it is tested (pinged)
/// when taken out again; busier connections are used without the test.
pub(crate) const IDLE_BEFORE_TEST: Duration = Duration::from_secs(1);

/// The connection pools plus their backend.
///
/// Why two pools: SQLite runs one write transaction at a time, and in WAL
/// mode a connection throws away its whole page cache whenever another
/// connection has committed since its last transaction. With writes spread
/// over a pool, nearly every write started cold and re-read the B-tree pages
/// it needed from the OS (profiled at 10,000 mailboxes: most of officed's
/// SQLite time was page copies and cache resets). Routing every write
/// transaction through one dedicated connection keeps its cache warm and
/// replaces SQLite's sleeping busy handler with a fair queue on the pool.
/// Reads keep their own pool. On PostgreSQL both are the same pool, so
/// several instances and many connections still write concurrently.
#[derive(Debug, Clone)]
pub struct Db {
    /// Reads, and admin writes that are rare.
    pub pool: AnyPool,
    /// Write transactions of the administrator's domain operations (one
    /// connection on SQLite; on PostgreSQL the API's writes too).
    pub writer: AnyPool,
    /// On SQLite, the connection of the API's writes, committed in groups
    /// (`store::group`); `None` on PostgreSQL.
    pub(crate) group: Option<Arc<GroupWriter>>,
    /// The connections of the reads every request makes (its key, its
    /// domain) and, on PostgreSQL, of the API's one-statement writes: held
    /// outside sqlx's pool ([`Db::reader`], `conns`).
    fast: Arc<HeldConns>,
    pub backend: Backend,
}

/// Hides a password in a database URL for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

impl Db {
    /// Opens (creating a SQLite file if needed) and migrates.
    ///
    /// Errors say which database could not be opened and why, with any
    /// password in the URL hidden.
    pub async fn open(url: &str) -> std::result::Result<Db, String> {
        sqlx::any::install_default_drivers();
        let shown = redact_url(url);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(format!(
                "unsupported database URL '{shown}': use sqlite://PATH or postgres://USER:PASSWORD@HOST:PORT/DB"
            ));
        };
        let mut url = url.to_string();
        let mut sqlite_file = None;
        let mut sync = Synchronous::Normal;
        if backend == Backend::Sqlite {
            (url, sync) = take_synchronous(&url)
                .map_err(|e| format!("cannot open database '{shown}': {e}"))?;
            // sqlx's own SQLite parser reads the file name (so an operator's
            // `sqlite://C:\data\officed.db` works too), which is then carried
            // percent-encoded: the `Any` driver's options hold only a URL.
            let parsed = SqliteConnectOptions::from_str(&url)
                .map_err(|e| format!("cannot open database '{shown}': invalid URL: {e}"))?;
            let file = parsed.get_filename().to_path_buf();
            let query = url.split_once('?').map(|(_, q)| q.to_string());
            url = crate::service::sqlite_url(&file);
            if let Some(q) = query {
                url.push('?');
                url.push_str(&q);
            }
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') {
                    "&mode=rwc"
                } else {
                    "?mode=rwc"
                });
            }
            sqlite_file = Some(file);
        }
        let opts: AnyConnectOptions = url
            .parse()
            .map_err(|e| format!("cannot open database '{shown}': invalid URL: {e}"))?;
        if let Some(file) = sqlite_file {
            let back = SqliteConnectOptions::try_from(&opts)
                .map_err(|e| format!("cannot open database '{shown}': {e}"))?;
            if back.get_filename() != file {
                return Err(format!(
                    "cannot open database '{shown}': the file name does not survive sqlx's URL handling ({} became {})",
                    file.display(),
                    back.get_filename().display()
                ));
            }
        }
        let pool = Self::pool(
            backend,
            if backend == Backend::Sqlite { 4 } else { 10 },
            false,
            sync,
        )
        .connect_with(opts.clone())
        .await
        .map_err(|e| format!("cannot open database '{shown}': {}", describe(&e)))?;
        let fast = Arc::new(match backend {
            Backend::Sqlite => HeldConns::new(opts.clone(), Setup::Sqlite(sync), SQLITE_HELD),
            Backend::Postgres => HeldConns::new(opts.clone(), Setup::Postgres, POSTGRES_HELD),
        });
        HeldConns::spawn_reaper(&fast);
        let (writer, group) = if backend == Backend::Sqlite {
            let writer = Self::pool(backend, 1, true, sync)
                .connect_with(opts)
                .await
                .map_err(|e| format!("cannot open database '{shown}': {}", describe(&e)))?;
            // The API's writer connection leaves the pool (which opens
            // another when the administrator's operations need one): it is
            // held for good by the group commit, with no pool ping per use.
            let conn = writer
                .acquire()
                .await
                .map_err(|e| format!("cannot open database '{shown}': {}", describe(&e)))?
                .detach();
            (writer, Some(Arc::new(GroupWriter::new(conn))))
        } else {
            (pool.clone(), None)
        };
        let db = Db {
            pool,
            writer,
            group,
            fast,
            backend,
        };
        db.migrate()
            .await
            .map_err(|e| format!("cannot migrate database '{shown}': {e}"))?;
        Ok(db)
    }

    fn pool(backend: Backend, size: u32, writer: bool, sync: Synchronous) -> AnyPoolOptions {
        AnyPoolOptions::new()
            .max_connections(size)
            .acquire_timeout(Duration::from_secs(30))
            // sqlx pings a connection when it goes back to the pool (always)
            // and, by default, again when it is taken out: on PostgreSQL a
            // round trip, on SQLite a hand-off to the database thread, for
            // each of the 2-3 acquires of every request. A connection that
            // broke while in use is already dropped by the release ping; the
            // test on acquire only matters for one that sat idle (through a
            // server restart, say), so only those are tested.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_BEFORE_TEST {
                        Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlite_setup(conn, writer, sync).await?;
                    }
                    Ok(())
                })
            })
    }

    /// A connection for the reads every request makes (its key, its
    /// domain) and, on PostgreSQL, for the API's one-statement writes: one
    /// held outside sqlx's pool, which tests (pings) every connection going
    /// back to it, a round trip per use on PostgreSQL. The caller reports
    /// each statement's result with [`Held::settled`].
    pub(crate) async fn reader(&self) -> Result<Held<'_>> {
        self.fast.take().await
    }

    /// Commits any batch in progress and closes the pools.
    pub async fn close(&self) {
        if let Some(g) = &self.group {
            g.close().await;
        }
        self.fast.close();
        self.writer.close().await;
        self.pool.close().await;
    }

    /// Applies pending migrations. Safe when several instances start at
    /// once: each migration is claimed by inserting its version first (the
    /// primary key lets one instance win; the others wait, then skip).
    pub async fn migrate(&self) -> Result<()> {
        self.pool
            .execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)",
            )
            .await?;
        for (version, desc, sql) in MIGRATIONS {
            let mut tx = self.pool.begin().await?;
            let claimed = sqlx::query(
                "INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(*version)
            .bind(desc.to_string())
            .bind(crate::store::now_ms())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 0 {
                tx.rollback().await?;
                continue;
            }
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            tx.commit().await?;
            tracing::info!(version, desc, "applied migration");
        }
        Ok(())
    }

    /// Cheap liveness probe for `/healthz`.
    pub async fn ping(&self) -> Result<()> {
        let row = sqlx::query("SELECT 1 AS one").fetch_one(&self.pool).await?;
        let _: i64 = row
            .try_get::<i64, _>("one")
            .or_else(|_| row.try_get::<i32, _>("one").map(i64::from))?;
        Ok(())
    }
}

/// SQLite's `synchronous` setting, chosen by the database URL's
/// `synchronous=normal|full` (officed's own parameter, not sqlx's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// The default: in WAL mode, syncs at checkpoints only. An OS crash or
    /// power loss can lose the last commits; an officed crash loses none.
    Normal,
    /// Syncs the WAL at every commit (every batch of the group commit):
    /// nothing committed is lost, at the cost of one `fsync` per commit.
    Full,
}

/// Takes officed's `synchronous=` parameter out of a SQLite URL (sqlx
/// refuses parameters it does not know): the URL without it, and the
/// setting (`Normal` when absent).
pub fn take_synchronous(url: &str) -> std::result::Result<(String, Synchronous), String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), Synchronous::Normal));
    };
    let mut sync = Synchronous::Normal;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some((k, v)) if k.eq_ignore_ascii_case("synchronous") => {
                sync = match v.to_ascii_lowercase().as_str() {
                    "normal" => Synchronous::Normal,
                    "full" => Synchronous::Full,
                    _ => {
                        return Err(format!(
                            "synchronous={v} is not a setting officed knows: use synchronous=normal (the default) or synchronous=full"
                        ))
                    }
                }
            }
            _ => kept.push(pair),
        }
    }
    if kept.is_empty() {
        Ok((base.to_string(), sync))
    } else {
        Ok((format!("{base}?{}", kept.join("&")), sync))
    }
}

/// The settings of every SQLite connection (`writer`: the writers' larger
/// page cache).
pub(crate) async fn sqlite_setup(
    conn: &mut AnyConnection,
    writer: bool,
    sync: Synchronous,
) -> sqlx::Result<()> {
    conn.execute("PRAGMA journal_mode = WAL").await?;
    conn.execute("PRAGMA busy_timeout = 15000").await?;
    conn.execute("PRAGMA foreign_keys = ON").await?;
    // Durability choice (docs/officed.md): by default NORMAL, which in WAL
    // mode syncs at checkpoints, not at every commit. A power loss or OS
    // crash can lose the last commits before it (an officed process crash
    // loses nothing); it cannot corrupt the database.
    conn.execute(match sync {
        Synchronous::Normal => "PRAGMA synchronous = NORMAL",
        Synchronous::Full => "PRAGMA synchronous = FULL",
    })
    .await?;
    if writer {
        // The writer's cache survives between its transactions; give it
        // room for the indexes.
        conn.execute("PRAGMA cache_size = -32768").await?;
    } else {
        conn.execute("PRAGMA cache_size = -16384").await?;
    }
    // Readers lose their page cache whenever the writer commits (WAL); with
    // the file mapped, re-reading a page is a memory access instead of a
    // pread copy.
    conn.execute("PRAGMA mmap_size = 268435456").await?;
    Ok(())
}

fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.message().to_string(),
        sqlx::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// How many times a write is retried on a transient database conflict
/// (deadlock, serialization failure, SQLite busy).
const RETRIES: u32 = 8;

/// The one retry rule of every write (`write_in_domain` and [`retry`]):
/// after `e`, whether to run the write again. When `e` is retryable and
/// `attempt` (the retries so far) is under `RETRIES` (8), counts the retry
/// and waits a growing, jittered backoff first.
pub async fn retry_after(e: &Error, attempt: &mut u32) -> bool {
    if !e.is_retryable() || *attempt >= RETRIES {
        return false;
    }
    *attempt += 1;
    let jitter = rand::random::<u64>() % 20;
    tokio::time::sleep(Duration::from_millis(10 * u64::from(*attempt) + jitter)).await;
    true
}

/// Retries `op` by [`retry_after`], for the writes that are not in one
/// existing domain (adding, editing and deleting domains and their
/// alternate domains, which take their own locks).
pub async fn retry<T, F, Fut>(mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut attempt = 0u32;
    loop {
        match op().await {
            Err(e) if retry_after(&e, &mut attempt).await => {}
            other => return other,
        }
    }
}

/// Returns an [`Error::Internal`] for impossible states.
pub fn internal(msg: impl Into<String>) -> Error {
    Error::Internal(msg.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Paths reach SQLite byte for byte through the URL the `Any` driver needs.
    #[test]
    fn sqlite_paths_survive_the_url() {
        for path in [
            "/tmp/officed/officed.db",
            r"C:\users\root\Temp\officed-demo-1\officed.db",
            r"C:\ProgramData\officed\officed.db",
            "/srv/a dir/with?question#hash%25.db",
            "relative/officed.db",
            "/srv/\u{e9}t\u{e9}/officed.db",
        ] {
            let url = crate::service::sqlite_url(Path::new(path));
            let any: AnyConnectOptions = format!("{url}?mode=rwc").parse().expect(&url);
            let back = SqliteConnectOptions::try_from(&any).expect(&url);
            assert_eq!(back.get_filename(), Path::new(path), "{url}");
        }
    }

    /// officed's `synchronous=` leaves the URL; other parameters stay.
    #[test]
    fn synchronous_is_taken_from_the_url() {
        use Synchronous::*;
        let cases: &[(&str, Option<(&str, Synchronous)>)] = &[
            ("sqlite:///a.db", Some(("sqlite:///a.db", Normal))),
            (
                "sqlite:///a.db?synchronous=full",
                Some(("sqlite:///a.db", Full)),
            ),
            (
                "sqlite:///a.db?synchronous=NORMAL",
                Some(("sqlite:///a.db", Normal)),
            ),
            (
                "sqlite:///a.db?mode=rwc&synchronous=full",
                Some(("sqlite:///a.db?mode=rwc", Full)),
            ),
            (
                "sqlite:///a.db?synchronous=full&mode=ro",
                Some(("sqlite:///a.db?mode=ro", Full)),
            ),
            (
                "sqlite:///a.db?mode=rwc",
                Some(("sqlite:///a.db?mode=rwc", Normal)),
            ),
            ("sqlite:///a.db?synchronous=off", None),
        ];
        for (url, want) in cases {
            let got = take_synchronous(url).ok();
            let got = got.as_ref().map(|(u, s)| (u.as_str(), *s));
            assert_eq!(got, *want, "{url}");
        }
    }

    /// `synchronous=full` opens a database that syncs every commit.
    #[tokio::test]
    async fn synchronous_full_is_applied() {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::service::sqlite_url(&dir.path().join("s.db"));
        let db = Db::open(&format!("{url}?synchronous=full")).await.unwrap();
        let mode: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(mode, 2, "FULL");
        db.close().await;
    }

    /// A file whose directory name holds URL syntax is created where asked.
    #[tokio::test]
    async fn opens_a_file_named_with_url_characters() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a dir #1?");
        std::fs::create_dir_all(&sub).unwrap();
        let file = sub.join("officed.db");
        let db = Db::open(&crate::service::sqlite_url(&file)).await.unwrap();
        db.ping().await.unwrap();
        db.close().await;
        assert!(file.exists());
    }
}
