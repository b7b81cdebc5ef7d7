//! Rackspace Email login tokens: short-lived single-use tokens for a
//! mailbox's webmail login. Only a token's SHA-256 hash is stored.

use sqlx::AnyConnection;

use super::mailboxes::require_mailbox;
use super::ServiceStore;
use super::{now_ms, DomainRow, Service};
use crate::db::Db;
use crate::error::Result;

/// How long a Rackspace Email login token lives (milliseconds).
pub const LOGIN_TOKEN_TTL_MS: i64 = 5 * 60 * 1000;

const DELETE_EXPIRED: &str = "DELETE FROM rs_login_tokens WHERE expires_at < $1";
const INSERT: &str =
    "INSERT INTO rs_login_tokens (token_hash, mailbox_id, created_at, expires_at) \
     VALUES ($1, $2, $3, $4)";

/// `POST .../rs/mailboxes/{name}/loginToken`: a new random token for the
/// mailbox (32 random bytes, hex). Only its SHA-256 hash is stored, with an
/// expiry; expired tokens are removed on the way.
pub async fn rs_login_token(db: &Db, dom: &DomainRow, name: &str) -> Result<String> {
    use rand::RngCore;
    use sha2::{Digest, Sha256};
    Service::RsEmail.check_domain(dom)?;
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let token = hex(&raw);
    let hash = hex(&Sha256::digest(token.as_bytes()));
    let now = now_ms();
    let mut c = db.pool.acquire().await?;
    let c: &mut AnyConnection = &mut c;
    let m = require_mailbox(c, dom, Service::RsEmail, name).await?;
    sqlx::query(DELETE_EXPIRED)
        .bind(now)
        .execute(&mut *c)
        .await?;
    sqlx::query(INSERT)
        .bind(hash)
        .bind(m.id.clone())
        .bind(now)
        .bind(now + LOGIN_TOKEN_TTL_MS)
        .execute(&mut *c)
        .await?;
    Ok(token)
}
