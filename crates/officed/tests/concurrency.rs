//! Rules under concurrent requests, on SQLite and PostgreSQL: the database
//! decides, so exactly one of many racing creates wins and licences hold,
//! also across two officed instances (two pools) on one database.

mod common;

use axum::http::StatusCode;
use cloudoffice_api::messages::MAILBOX_LIMIT_EXCEEDED;
use cloudoffice_api::RuleViolation;
use common::Env;

async fn same_address_64(env: &Env) {
    let second = env.second_instance().await;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let app = if i % 2 == 0 {
            env.app.clone()
        } else {
            second.clone()
        };
        let (key, secret) = (env.key.clone(), env.secret.clone());
        tasks.push(tokio::spawn(async move {
            let (path, body) = match i % 5 {
                0 => (
                    "/customers/me/domains/example.com/ex/mailboxes/Shared",
                    (
                        "application/x-www-form-urlencoded",
                        "displayName=S&password=Passw0rd%21".to_string(),
                    ),
                ),
                1 => (
                    "/customers/me/domains/example.com/rs/mailboxes/shared",
                    (
                        "application/x-www-form-urlencoded",
                        "displayName=S&password=Rs-Passw0rd%21&size=2048".to_string(),
                    ),
                ),
                2 => (
                    "/customers/me/domains/example.com/rs/aliases/SHARED",
                    (
                        "application/x-www-form-urlencoded",
                        "aliasEmails=a%40b.com".to_string(),
                    ),
                ),
                3 => (
                    "/customers/me/domains/example.com/ex/contacts/shared",
                    (
                        "application/x-www-form-urlencoded",
                        "displayName=S&externalEmail=a%40b.com".to_string(),
                    ),
                ),
                _ => (
                    "/customers/me/domains/example.com/ex/distributionlists/shared",
                    ("application/json", "{\"DisplayName\": \"S\"}".to_string()),
                ),
            };
            common::send(&app, &key, &secret, "POST", path, Some(body)).await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        let r = t.await.unwrap();
        assert!(r.status.as_u16() < 500, "5xx: {}", r.json);
        if r.status == StatusCode::OK {
            wins += 1;
        } else {
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
            let rule = RuleViolation::classify(&r.message());
            assert!(
                matches!(
                    rule,
                    Some(
                        RuleViolation::UserExistsInAnotherService
                            | RuleViolation::GroupExistsInAnotherService
                    )
                ),
                "{}",
                r.json
            );
        }
    }
    assert_eq!(wins, 1, "exactly one create of the address wins");
}
both_backends!(same_address_64);

async fn licences_hold(env: &Env) {
    // example.com has 3 Exchange licences; 40 racing creates of distinct names.
    let second = env.second_instance().await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let app = if i % 2 == 0 {
            env.app.clone()
        } else {
            second.clone()
        };
        let (key, secret) = (env.key.clone(), env.secret.clone());
        tasks.push(tokio::spawn(async move {
            let path = format!("/customers/me/domains/example.com/ex/mailboxes/user{i}");
            common::send(
                &app,
                &key,
                &secret,
                "POST",
                &path,
                Some((
                    "application/x-www-form-urlencoded",
                    "displayName=U&password=Passw0rd%21".into(),
                )),
            )
            .await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        let r = t.await.unwrap();
        assert!(r.status.as_u16() < 500, "5xx: {}", r.json);
        if r.status == StatusCode::OK {
            wins += 1;
        } else {
            assert_eq!(r.message(), MAILBOX_LIMIT_EXCEEDED, "{}", r.json);
        }
    }
    assert_eq!(wins, 3, "never more mailboxes than licences");
    let d = env
        .req("GET", "/customers/me/domains/example.com", None)
        .await;
    assert_eq!(d.json["exchangeUsedStorage"], 3);
}
both_backends!(licences_hold);

/// Writes that fail among many concurrent ones fail alone. On SQLite the
/// concurrent writes share one transaction (`store::group`), each in its
/// own savepoint: every success must be stored, every failure answer its
/// own fault and leave nothing behind, and the licence count stay exact.
async fn failures_in_a_batch_fail_alone(env: &Env) {
    const MB: &str = "/customers/me/domains/example.org/ex/mailboxes";
    // example.org has 5 Exchange licences; the owner takes one.
    let r = env
        .form(
            "POST",
            &format!("{MB}/owner"),
            "displayName=O&password=Passw0rd%21",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let mut tasks = Vec::new();
    for i in 0..60 {
        let app = env.app.clone();
        let (key, secret) = (env.key.clone(), env.secret.clone());
        tasks.push(tokio::spawn(async move {
            let form = "displayName=N&password=Passw0rd%21".to_string();
            let (path, body) = match i % 4 {
                // 15 distinct new alternates: each succeeds.
                0 => (
                    format!("{MB}/owner/emailaddresses/alt{i}@example.org"),
                    None,
                ),
                // 15 adds of one address: exactly one wins.
                1 => (format!("{MB}/owner/emailaddresses/same@example.org"), None),
                // 15 adds to a mailbox that does not exist.
                2 => (format!("{MB}/ghost/emailaddresses/g{i}@example.org"), None),
                // 15 creates for the 4 licences left.
                _ => (
                    format!("{MB}/new{i}"),
                    Some(("application/x-www-form-urlencoded", form)),
                ),
            };
            let r = common::send(&app, &key, &secret, "POST", &path, body).await;
            (i, r)
        }));
    }
    let (mut same_wins, mut creates) = (0, 0);
    for t in tasks {
        let (i, r) = t.await.unwrap();
        match i % 4 {
            0 => assert_eq!(r.status, StatusCode::OK, "alt{i}: {}", r.json),
            1 if r.status == StatusCode::OK => same_wins += 1,
            1 => assert_eq!(r.status, StatusCode::BAD_REQUEST, "same: {}", r.json),
            2 => assert_eq!(r.status, StatusCode::NOT_FOUND, "ghost: {}", r.json),
            _ if r.status == StatusCode::OK => creates += 1,
            _ => assert_eq!(r.message(), MAILBOX_LIMIT_EXCEEDED, "new{i}: {}", r.json),
        }
    }
    assert_eq!(same_wins, 1, "exactly one add of the same address wins");
    assert_eq!(creates, 4, "the creates take the 4 licences left, no more");
    let r = env
        .req("GET", &format!("{MB}/owner/emailaddresses"), None)
        .await;
    let mut addrs: Vec<String> = r.json["emailAddressList"]
        .as_array()
        .expect("address list")
        .iter()
        .map(|a| a["address"].as_str().unwrap_or_default().to_string())
        .collect();
    addrs.sort();
    let mut want: Vec<String> = (0..60)
        .filter(|i| i % 4 == 0)
        .map(|i| format!("alt{i}@example.org"))
        .chain(["owner@example.org".into(), "same@example.org".into()])
        .collect();
    want.sort();
    assert_eq!(addrs, want, "{}", r.json);
    let r = env.req("GET", &format!("{MB}/ghost"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.json);
    let d = env
        .req("GET", "/customers/me/domains/example.org", None)
        .await;
    assert_eq!(d.json["exchangeUsedStorage"], 5, "{}", d.json);
}
both_backends!(failures_in_a_batch_fail_alone);
