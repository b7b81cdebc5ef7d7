//! Benchmark driver for `scripts/bench-officed` (not a test): starts officed
//! in-process on loopback with a fresh database and measures, over HTTP
//! with signed requests, mailbox creates/s, alternate-address adds/s and
//! list pages/s (250 per page). Prints one Markdown table row per backend.
//!
//! Usage: bench-officed sqlite | postgres BASE_URL   [--mailboxes N] [--concurrency C]

use std::time::Instant;

use cloudoffice_api::{signing, Secret};
use futures::stream::{self, StreamExt};
use officed::admin::{self, NewDomain};
use officed::{Config, Service};

const UA: &str = "officed-bench";

struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
    secret: Secret,
}

impl Client {
    async fn send(&self, method: reqwest::Method, path: &str, form: Option<&str>) -> u16 {
        let sig = signing::sign(&self.key, UA, &self.secret, time::OffsetDateTime::now_utc());
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("user-agent", UA)
            .header("x-api-signature", sig);
        if let Some(f) = form {
            rb = rb
                .header("content-type", "application/x-www-form-urlencoded")
                .body(f.to_string());
        }
        let r = rb.send().await.expect("request");
        let status = r.status().as_u16();
        let _ = r.bytes().await;
        status
    }
}

async fn timed<F, Fut>(n: usize, concurrency: usize, f: F) -> f64
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let start = Instant::now();
    let statuses: Vec<u16> = stream::iter(0..n)
        .map(&f)
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let secs = start.elapsed().as_secs_f64();
    let bad = statuses.iter().filter(|s| **s != 200).count();
    assert_eq!(bad, 0, "{bad} of {n} requests failed");
    n as f64 / secs
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = args.get(1).cloned().unwrap_or_else(|| "sqlite".into());
    let flag = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let n = flag("--mailboxes", 2000);
    let conc = flag("--concurrency", 8);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::sqlite_in(dir.path(), "127.0.0.1:0".parse().unwrap());
    let mut pg_cleanup = None;
    if backend == "postgres" {
        let base = args.get(2).expect("postgres needs the base URL").clone();
        sqlx::any::install_default_drivers();
        let name = format!("bench_officed_{}", std::process::id());
        let admin_pool = sqlx::AnyPool::connect(&base)
            .await
            .expect("connect to PostgreSQL");
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&admin_pool)
            .await
            .unwrap();
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&admin_pool)
            .await
            .unwrap();
        let (head, _) = base.rsplit_once('/').unwrap();
        config.database_url = format!("{head}/{name}");
        pg_cleanup = Some((admin_pool, name));
    }
    std::env::remove_var(officed::crypto::MASTER_KEY_ENV);
    let svc = Service::start(config).await.expect("start officed");
    admin::create_customer(svc.db(), "100001", "Bench")
        .await
        .unwrap();
    admin::create_domain(
        svc.db(),
        &NewDomain {
            customer: "100001".into(),
            name: "example.com".into(),
            service_type: cloudoffice_api::ServiceType::Both,
            exchange_licences: 1_000_000,
            rsemail_licences: 1_000_000,
            aliases: vec!["example.net".into()],
            accepted: vec![],
        },
    )
    .await
    .unwrap();
    let key = admin::issue_key(svc.db(), svc.master_key(), "100001", "bench")
        .await
        .unwrap();
    let client = Client {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .unwrap(),
        base: svc.base_url(),
        key: key.user_key,
        secret: key.secret,
    };
    let mb = "/customers/me/domains/example.com/ex/mailboxes";
    // Warm-up (connections, caches), not measured.
    for i in 0..20 {
        client
            .send(
                reqwest::Method::POST,
                &format!("{mb}/warm{i}"),
                Some("displayName=W&password=Passw0rd%21"),
            )
            .await;
    }
    let creates_seq = timed(n / 4, 1, |i| {
        let c = &client;
        async move {
            c.send(
                reqwest::Method::POST,
                &format!("{mb}/s{i}"),
                Some("displayName=Seq+User&size=2048&password=Passw0rd%21"),
            )
            .await
        }
    })
    .await;
    let creates = timed(n, conc, |i| {
        let c = &client;
        async move {
            c.send(
                reqwest::Method::POST,
                &format!("{mb}/u{i}"),
                Some("displayName=Bench+User&size=2048&title=Engineer&password=Passw0rd%21"),
            )
            .await
        }
    })
    .await;
    let adds = timed(n, conc, |i| {
        let c = &client;
        async move {
            c.send(
                reqwest::Method::POST,
                &format!("{mb}/u{i}/emailaddresses/alt{i}@example.com"),
                None,
            )
            .await
        }
    })
    .await;
    let total = n + n / 4 + 20;
    let pages = total.div_ceil(250);
    let lists = timed(pages * 20, conc, |i| {
        let c = &client;
        let offset = (i % pages) * 250;
        async move {
            c.send(
                reqwest::Method::GET,
                &format!("{mb}?size=250&offset={offset}"),
                None,
            )
            .await
        }
    })
    .await;
    println!(
        "| {backend} | {total} | {conc} | {creates_seq:.0} | {creates:.0} | {adds:.0} | {lists:.1} |"
    );
    svc.shutdown().await;
    if let Some((pool, name)) = pg_cleanup {
        let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&pool)
            .await;
    }
}
