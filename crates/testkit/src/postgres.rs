//! Fixture: the scratch PostgreSQL started by `scripts/postgres`.

/// The PostgreSQL URL for tests (`DIRSYNC_TEST_PG_URL`), or `None` outside CI when absent.
pub fn url() -> Option<String> {
    crate::service_env("DIRSYNC_TEST_PG_URL", "PostgreSQL")
}
