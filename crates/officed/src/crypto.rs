//! Encryption of API secrets at rest.
//!
//! The service must recompute `SHA1(userKey + User-Agent + timestamp +
//! secret)`, so a one-way hash cannot be stored: secrets are encrypted with
//! ChaCha20-Poly1305 under a 32-byte master key kept outside the database
//! (a `0600` file in the data directory, or the `OFFICED_MASTER_KEY`
//! environment variable, base64). A copy of the database alone reveals no
//! secret. The user key is bound as associated data, so a ciphertext moved
//! to another key row does not decrypt.

use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use cloudoffice_api::Secret;
use rand::RngCore;

/// Environment variable holding the master key (base64 of 32 bytes).
pub const MASTER_KEY_ENV: &str = "OFFICED_MASTER_KEY";
/// File name of the master key inside the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

/// The master key (never printed: `Debug` is redacted).
#[derive(Clone)]
pub struct MasterKey(Key);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut k);
        MasterKey(Key::from(k))
    }

    /// Parses base64 of exactly 32 bytes.
    pub fn from_base64(s: &str) -> Result<Self, String> {
        let bytes = B64
            .decode(s.trim())
            .map_err(|_| "the master key is not valid base64".to_string())?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "the master key must be 32 bytes (44 base64 characters)".to_string())?;
        Ok(MasterKey(Key::from(arr)))
    }

    /// Base64 form (for writing the key file).
    pub fn to_base64(&self) -> String {
        B64.encode(self.0.as_slice())
    }

    /// `OFFICED_MASTER_KEY` if set, else `<data_dir>/master.key`, created
    /// with mode 0600 when missing.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, String> {
        if let Ok(v) = std::env::var(MASTER_KEY_ENV) {
            if !v.trim().is_empty() {
                return Self::from_base64(&v).map_err(|e| format!("{MASTER_KEY_ENV}: {e}"));
            }
        }
        let path = data_dir.join(MASTER_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(s) => Self::from_base64(&s).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir).map_err(|e| {
                    format!("cannot create data directory {}: {e}", data_dir.display())
                })?;
                let key = Self::generate();
                write_private(&path, key.to_base64().as_bytes())
                    .map_err(|e| format!("cannot write master key {}: {e}", path.display()))?;
                Ok(key)
            }
            Err(e) => Err(format!("cannot read master key {}: {e}", path.display())),
        }
    }

    /// Encrypts a secret for the key row `user_key`.
    pub fn encrypt(&self, user_key: &str, secret: &Secret) -> String {
        let cipher = ChaCha20Poly1305::new(&self.0);
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.expose().as_bytes(),
                    aad: user_key.as_bytes(),
                },
            )
            .expect("ChaCha20-Poly1305 encryption cannot fail for in-memory input");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("v1:{}", B64.encode(out))
    }

    /// Decrypts; `None` when the ciphertext is damaged or was made with another key.
    pub fn decrypt(&self, user_key: &str, stored: &str) -> Option<Secret> {
        let raw = B64.decode(stored.strip_prefix("v1:")?).ok()?;
        if raw.len() < 12 + 16 {
            return None;
        }
        let (nonce, ct) = raw.split_at(12);
        let pt = ChaCha20Poly1305::new(&self.0)
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: user_key.as_bytes(),
                },
            )
            .ok()?;
        String::from_utf8(pt).ok().map(Secret::new)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_binding() {
        let k = MasterKey::generate();
        let s = Secret::new("QHOvchm/40czXhJ1OxfxK7jDHr3t");
        let enc = k.encrypt("key1", &s);
        assert!(!enc.contains("QHOvchm"));
        assert_eq!(k.decrypt("key1", &enc).unwrap(), s);
        assert!(k.decrypt("key2", &enc).is_none(), "bound to its user key");
        assert!(
            MasterKey::generate().decrypt("key1", &enc).is_none(),
            "other master key"
        );
        assert!(k.decrypt("key1", "v1:garbage").is_none());
        assert_eq!(format!("{k:?}"), "MasterKey([redacted])");
    }

    #[test]
    fn key_file_created_private() {
        let dir = tempfile::tempdir().unwrap();
        std::env::remove_var(MASTER_KEY_ENV);
        let a = MasterKey::load_or_create(dir.path()).unwrap();
        let b = MasterKey::load_or_create(dir.path()).unwrap();
        assert_eq!(a.to_base64(), b.to_base64());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(MASTER_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(MasterKey::from_base64("abc").is_err());
    }
}
