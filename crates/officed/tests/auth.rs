//! Authentication, throttling, secrets at rest, and the OpenAPI contract.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cloudoffice_api::{messages, signing, Secret};
use common::{raw, Env, UA};
use officed::api::{ApiConfig, ThrottleLimits};

fn get(path: &str, ua: &str, sig: Option<&str>) -> Request<Body> {
    let mut b = Request::builder()
        .uri(format!("/v1{path}"))
        .header("user-agent", ua);
    if let Some(s) = sig {
        b = b.header("x-api-signature", s);
    }
    b.body(Body::empty()).unwrap()
}

async fn signatures(kind: &str) {
    // A window wide enough for the documented vector's 2001 timestamp, only
    // for the vector; the default window is checked below.
    let Some(old) = Env::with(
        kind,
        ApiConfig {
            signature_window: time::Duration::days(365 * 40),
            throttle: None,
        },
    )
    .await
    else {
        return;
    };
    officed::admin::import_key(
        &old.db,
        &old.master,
        "100001",
        "eGbq9/2hcZsRlr1JV1Pi",
        &Secret::new("QHOvchm/40czXhJ1OxfxK7jDHr3t"),
        "vector",
    )
    .await
    .unwrap();
    let vector = "eGbq9/2hcZsRlr1JV1Pi:20010308143725:46VIwd66mOFGG8IkbgnLlXnfnkU=";
    let r = raw(
        &old.app,
        get(
            "/customers/me/domains",
            "Rackspace Management Interface",
            Some(vector),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "documented vector: {}", r.json);
    let r = raw(
        &old.app,
        get("/customers/me/domains", "Other Agent", Some(vector)),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "vector with another agent");
    old.finish().await;

    let env = Env::open(kind).await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    let good = signing::sign(&env.key, UA, &env.secret, now);
    assert_eq!(
        raw(&env.app, get("/customers/me/domains", UA, Some(&good)))
            .await
            .status,
        StatusCode::OK
    );
    // The same vector is stale under the default 10-minute window.
    let stale = signing::sign(&env.key, UA, &env.secret, now - time::Duration::minutes(11));
    let future = signing::sign(&env.key, UA, &env.secret, now + time::Duration::minutes(11));
    let within = signing::sign(&env.key, UA, &env.secret, now - time::Duration::minutes(9));
    assert_eq!(
        raw(&env.app, get("/customers/me/domains", UA, Some(&within)))
            .await
            .status,
        StatusCode::OK,
        "9 minutes old"
    );
    let mut tampered = good.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let other_secret = signing::sign(&env.key, UA, &Secret::new("wrong"), now);
    let unknown = signing::sign("NoSuchKey", UA, &env.secret, now);
    let cases: Vec<(&str, Request<Body>, &str)> = vec![
        (
            "stale",
            get("/customers/me/domains", UA, Some(&stale)),
            "outside the accepted window",
        ),
        (
            "future",
            get("/customers/me/domains", UA, Some(&future)),
            "outside the accepted window",
        ),
        (
            "wrong agent",
            get("/customers/me/domains", "curl/8.0", Some(&good)),
            "does not match",
        ),
        (
            "tampered",
            get("/customers/me/domains", UA, Some(&tampered)),
            "does not match",
        ),
        (
            "wrong secret",
            get("/customers/me/domains", UA, Some(&other_secret)),
            "does not match",
        ),
        ("missing", get("/customers/me/domains", UA, None), "missing"),
        (
            "malformed",
            get("/customers/me/domains", UA, Some("garbage")),
            "malformed",
        ),
        (
            "unknown key",
            get("/customers/me/domains", UA, Some(&unknown)),
            "unknown or revoked",
        ),
    ];
    for (what, req, detail) in cases {
        let r = raw(&env.app, req).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}: {}", r.json);
        assert_eq!(r.message(), messages::AUTHENTICATION_FAILED, "{what}");
        assert!(
            r.json["unauthorizedFault"]["details"]
                .as_str()
                .unwrap()
                .contains(detail),
            "{what}: {}",
            r.json
        );
        assert!(
            !r.json.to_string().contains(env.secret.expose()),
            "{what}: secret leaked"
        );
    }
    // Revoked keys stop working.
    officed::admin::revoke_key(&env.db, &env.key).await.unwrap();
    let fresh = signing::sign(&env.key, UA, &env.secret, time::OffsetDateTime::now_utc());
    assert_eq!(
        raw(&env.app, get("/customers/me/domains", UA, Some(&fresh)))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // The OpenAPI document needs no key; the health check neither.
    assert_eq!(
        raw(&env.app, get("/openapi.json", UA, None)).await.status,
        StatusCode::OK
    );
    let h = raw(
        &env.app,
        Request::builder()
            .uri("/healthz")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(h.json["status"], "ok");
    env.finish().await;
}

#[tokio::test]
async fn signatures_sqlite() {
    signatures("sqlite").await;
}

#[tokio::test]
async fn signatures_postgres() {
    signatures("postgres").await;
}

/// API settings with throttling at these per-minute limits.
fn throttled(gets_per_minute: u32, writes_per_minute: u32) -> ApiConfig {
    ApiConfig {
        throttle: Some(ThrottleLimits {
            gets_per_minute,
            writes_per_minute,
            ..ThrottleLimits::CLOUD_OFFICE
        }),
        ..ApiConfig::default()
    }
}

#[tokio::test]
async fn throttling_preset_and_custom() {
    let env = Env::with("sqlite", throttled(3, 2)).await.unwrap();
    // Run at the start of a minute so the window does not roll over mid-test.
    let sec = time::OffsetDateTime::now_utc().second();
    if sec > 50 {
        tokio::time::sleep(std::time::Duration::from_secs(u64::from(61 - sec))).await;
    }
    for _ in 0..3 {
        assert_eq!(
            env.req("GET", "/customers/me/domains", None).await.status,
            StatusCode::OK
        );
    }
    let r = env.req("GET", "/customers/me/domains", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.message(), messages::EXCEEDED_REQUEST_LIMITS);
    assert_eq!(
        r.headers["x-error-message"],
        messages::EXCEEDED_REQUEST_LIMITS
    );
    // Writes are counted apart, and per key.
    for i in 0..2 {
        let r = env
            .form(
                "POST",
                &format!("/customers/me/domains/example.com/ex/mailboxes/t{i}"),
                "displayName=T&password=Passw0rd%21",
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    }
    let r = env
        .form(
            "POST",
            "/customers/me/domains/example.com/ex/mailboxes/t9",
            "displayName=T&password=Passw0rd%21",
        )
        .await;
    assert_eq!(r.message(), messages::EXCEEDED_REQUEST_LIMITS);
    assert_eq!(
        env.req_b("GET", "/customers/me/domains", None).await.status,
        StatusCode::OK,
        "other key unaffected"
    );
    assert_eq!(
        ThrottleLimits::CLOUD_OFFICE,
        ThrottleLimits {
            gets_per_minute: 60,
            writes_per_minute: 30,
            domain_writes_per_minute: 2,
            alternate_domain_writes_per_minute: 2,
        }
    );
    assert!(ApiConfig::default().throttle.is_none(), "off by default");
    env.finish().await;
}

#[tokio::test]
async fn secrets_are_not_in_the_database_file() {
    let env = Env::open("sqlite").await.unwrap();
    let common::Backend::Sqlite(dir) = &env.backend else {
        unreachable!()
    };
    env.db.close().await;
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let hay = String::from_utf8_lossy(&bytes);
    assert!(
        hay.contains(&env.key),
        "the user key is stored in clear (it is not secret)"
    );
    assert!(
        !hay.contains(env.secret.expose()),
        "secret found in the database files"
    );
    assert!(
        !hay.contains(env.secret_b.expose()),
        "secret found in the database files"
    );
}

#[test]
fn committed_openapi_is_current() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/openapi.json"
    ))
    .expect("docs/openapi.json is committed");
    let generated = officed::openapi::document_text();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: regenerate with `cargo run -p officed -- openapi > docs/openapi.json`"
    );
}

#[tokio::test]
async fn served_openapi_matches_generated() {
    let env = Env::open("sqlite").await.unwrap();
    let r = raw(&env.app, get("/openapi.json", UA, None)).await;
    assert_eq!(r.json, officed::openapi::document());
    env.finish().await;
}

/// On PostgreSQL the per-key limits hold across instances: two officed
/// apps on one database (own pools, own process state) share the counters,
/// so a key gets 3 GETs and 2 writes a minute in all, not per instance.
#[tokio::test]
async fn throttling_is_shared_by_instances_on_postgres() {
    let Some(env) = Env::with("postgres", throttled(3, 2)).await else {
        return;
    };
    let second = env.second_instance().await;
    let sec = time::OffsetDateTime::now_utc().second();
    if sec > 50 {
        tokio::time::sleep(std::time::Duration::from_secs(u64::from(61 - sec))).await;
    }
    let get = |app: &axum::Router| {
        let app = app.clone();
        let (k, s) = (env.key.clone(), env.secret.clone());
        async move { common::send(&app, &k, &s, "GET", "/customers/me/domains", None).await }
    };
    // GETs alternate between the instances: the fourth is refused, on
    // either one.
    for app in [&env.app, &second, &env.app] {
        assert_eq!(get(app).await.status, StatusCode::OK);
    }
    let r = get(&second).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.message(), messages::EXCEEDED_REQUEST_LIMITS);
    assert_eq!(get(&env.app).await.status, StatusCode::FORBIDDEN);
    // Writes: one on each instance, then the third is refused.
    for (i, app) in [&env.app, &second].into_iter().enumerate() {
        let r = common::send(
            app,
            &env.key,
            &env.secret,
            "POST",
            &format!("/customers/me/domains/example.com/ex/mailboxes/s{i}"),
            Some((
                "application/x-www-form-urlencoded",
                "displayName=S&password=Passw0rd%21".to_string(),
            )),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    }
    let r = common::send(
        &env.app,
        &env.key,
        &env.secret,
        "POST",
        "/customers/me/domains/example.com/ex/mailboxes/s9",
        Some((
            "application/x-www-form-urlencoded",
            "displayName=S&password=Passw0rd%21".to_string(),
        )),
    )
    .await;
    assert_eq!(r.message(), messages::EXCEEDED_REQUEST_LIMITS);
    // Another key has its own counters.
    let other = common::send(
        &second,
        &env.key_b,
        &env.secret_b,
        "GET",
        "/customers/me/domains",
        None,
    )
    .await;
    assert_eq!(other.status, StatusCode::OK);
    // Refused requests count too, as in one instance: 5 GETs and 3 writes.
    let minute = time::OffsetDateTime::now_utc()
        .unix_timestamp()
        .div_euclid(60);
    let row =
        sqlx::query("SELECT gets, writes FROM api_throttle WHERE user_key = $1 AND minute = $2")
            .bind(&env.key)
            .bind(minute)
            .fetch_one(&env.db.pool)
            .await
            .unwrap();
    use sqlx::Row;
    assert_eq!(
        (row.get::<i64, _>("gets"), row.get::<i64, _>("writes")),
        (5, 3)
    );
    env.finish().await;
}
