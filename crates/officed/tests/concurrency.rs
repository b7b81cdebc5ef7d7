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
