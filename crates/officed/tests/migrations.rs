//! Upgrading a database that already holds data, on SQLite and PostgreSQL:
//! migration 0004 starts each domain's licence counters at its live
//! mailboxes, so licences hold across the upgrade.

use officed::db::{Db, MIGRATIONS};
use sqlx::any::AnyPoolOptions;
use sqlx::{Executor, Row};

async fn counters_start_at_the_live_mailboxes(url: &str) {
    sqlx::any::install_default_drivers();
    let connect = if url.starts_with("sqlite:") {
        format!("{url}?mode=rwc")
    } else {
        url.to_string()
    };
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&connect)
        .await
        .unwrap();
    // The schema as version 3 left it, its migrations recorded.
    pool.execute("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)")
        .await
        .unwrap();
    for (version, desc, sql) in &MIGRATIONS[..3] {
        sqlx::raw_sql(sql).execute(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, 0)",
        )
        .bind(*version)
        .bind(desc.to_string())
        .execute(&pool)
        .await
        .unwrap();
    }
    // Two domains: a.com with 2 live and 1 deleted Exchange mailbox and 1
    // live Rackspace Email one; b.com with none.
    let rows = [
        "INSERT INTO customers (id, account_number, name, created_at) VALUES ('c', '1', 'C', 0)",
        "INSERT INTO domains (id, customer_id, name, service_type, ex_licences, rs_licences, created_at) VALUES ('da', 'c', 'a.com', 'both', 5, 5, 0)",
        "INSERT INTO domains (id, customer_id, name, service_type, ex_licences, rs_licences, created_at) VALUES ('db', 'c', 'b.com', 'both', 5, 5, 0)",
    ];
    for sql in rows {
        pool.execute(sql).await.unwrap();
    }
    for (id, service, deleted) in [
        ("m1", "ex", None),
        ("m2", "ex", None),
        ("m3", "ex", Some(1_i64)),
        ("m4", "rs", None),
    ] {
        sqlx::query(
            "INSERT INTO mailboxes (id, domain_id, service, name, name_key, display_name, enabled, hidden, size_mb, usage_mb, contact_info, created_at, deleted_at) \
             VALUES ($1, 'da', $2, $1, $1, $1, 1, 0, 100, 0, '{}', 0, $3)",
        )
        .bind(id)
        .bind(service)
        .bind(deleted)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;

    let db = Db::open(url).await.unwrap();
    let mut got = Vec::new();
    for r in sqlx::query("SELECT name, ex_used, rs_used FROM domains ORDER BY name")
        .fetch_all(&db.pool)
        .await
        .unwrap()
    {
        got.push((
            r.get::<String, _>("name"),
            r.get::<i64, _>("ex_used"),
            r.get::<i64, _>("rs_used"),
        ));
    }
    assert_eq!(
        got,
        vec![("a.com".to_string(), 2, 1), ("b.com".to_string(), 0, 0)]
    );
    db.close().await;
}

#[tokio::test]
async fn licence_counters_after_upgrade_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = officed::service::sqlite_url(&dir.path().join("old.db"));
    counters_start_at_the_live_mailboxes(&url).await;
}

#[tokio::test]
async fn licence_counters_after_upgrade_postgres() {
    let Some(url) = testkit::officed::create_postgres_database("officed_upgrade") else {
        return;
    };
    counters_start_at_the_live_mailboxes(&url).await;
    testkit::officed::drop_postgres_database(&url);
}
