//! The pools hand out live connections only. officed no longer pings a
//! connection on every acquire (a round trip per acquire, several per
//! request); it tests one that sat idle for a second. Here the server
//! closes every idle connection of the pool (as a PostgreSQL restart
//! would), and the next requests must still succeed.

use std::time::Duration;

use officed::db::Db;
use sqlx::Connection;

#[tokio::test]
async fn connections_closed_by_the_server_while_idle_are_replaced() {
    let Some(url) = testkit::officed::create_postgres_database("officed_pool") else {
        return;
    };
    let db = Db::open(&url).await.unwrap();
    // Several connections in the pool, all idle afterwards.
    let held: Vec<_> = futures::future::join_all((0..3).map(|_| db.pool.acquire()))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut other = sqlx::AnyConnection::connect(&url).await.unwrap();
    let killed = sqlx::query(
        "SELECT COUNT(*) AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()) t",
    )
    .fetch_one(&mut other)
    .await
    .unwrap();
    let killed: i64 = sqlx::Row::get(&killed, "n");
    assert!(killed >= 3, "only {killed} pool connections were closed");
    other.close().await.unwrap();

    // Past the idle threshold: each acquire tests the connection first.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for i in 0..5 {
        db.ping()
            .await
            .unwrap_or_else(|e| panic!("request {i} after the server closed the connections: {e}"));
    }
    db.close().await;
    testkit::officed::drop_postgres_database(&url);
}
