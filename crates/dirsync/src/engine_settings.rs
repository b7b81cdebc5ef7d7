//! The engine's settings, from dirsync's configuration: the `[engine]`
//! table over the engine's defaults, with the target from `[api]` and the
//! secrets file. Also what the Settings page and config validation show
//! of them.

use anyhow::Result;
use dirsync_engine::{EngineSettings, Secret, TargetSettings};

use crate::config::Loaded;

fn placeholder_target() -> TargetSettings {
    TargetSettings {
        base_url: "https://unconfigured.invalid/v1".into(),
        user_key: "unconfigured".into(),
        secret: Secret::new("unconfigured"),
        customer: "me".into(),
        user_agent: format!("dirsync/{}", env!("CARGO_PKG_VERSION")),
    }
}

/// The engine's settings as a TOML table, without `target` (which comes from `[api]`).
pub fn default_engine_table() -> toml::Table {
    let mut t = toml::Value::try_from(EngineSettings::new(placeholder_target()))
        .ok()
        .and_then(|v| v.as_table().cloned())
        .unwrap_or_default();
    t.remove("target");
    t
}

/// The `[engine]` settings in effect: the configured keys over the
/// defaults, so the Settings page shows thresholds, policies and limits an
/// admin never wrote down. `None` when the table is not valid.
pub fn effective_engine_table(config: &crate::config::Config) -> Option<toml::Table> {
    let mut s = settings_with(&config.engine, placeholder_target()).ok()?;
    per_request_timeout(config, &mut s);
    let mut t = toml::Value::try_from(s).ok()?.as_table().cloned()?;
    t.remove("target");
    Some(t)
}

/// Builds the engine settings: `[engine]` plus the target from `[api]` and the secrets.
fn settings_with(table: &toml::Table, target: TargetSettings) -> Result<EngineSettings, String> {
    if table.contains_key("target") {
        return Err("`target` is not an [engine] key: the API address, user key and account are set in [api], the secret key in the secrets file".into());
    }
    let mut t = table.clone();
    t.insert(
        "target".into(),
        toml::Value::try_from(&target).map_err(|e| e.to_string())?,
    );
    let mut s: EngineSettings = crate::config::from_table(t).map_err(|(at, msg)| {
        if at.is_empty() {
            msg
        } else {
            format!("{at}: {msg}")
        }
    })?;
    s.target.secret = target.secret;
    s.validate().map_err(|e| e.to_string())?;
    Ok(s)
}

/// Validates the `[engine]` table alone (used by config validation).
pub fn engine_settings(table: &toml::Table) -> Result<(), String> {
    settings_with(table, placeholder_target()).map(|_| ())
}

/// The engine settings for a loaded configuration.
pub fn settings_for(loaded: &Loaded) -> Result<EngineSettings> {
    let api = &loaded.config.api;
    let target = TargetSettings {
        base_url: api.url.clone().unwrap_or_default(),
        user_key: api.user_key.clone().unwrap_or_default(),
        secret: Secret::new(
            loaded
                .secrets
                .api_secret_key
                .as_ref()
                .map(|s| s.expose().to_string())
                .unwrap_or_default(),
        ),
        customer: api.account.clone().unwrap_or_else(|| "me".into()),
        user_agent: format!("dirsync/{}", env!("CARGO_PKG_VERSION")),
    };
    let mut s = settings_with(&loaded.config.engine, target)
        .map_err(|e| anyhow::anyhow!("engine settings: {e}"))?;
    per_request_timeout(&loaded.config, &mut s);
    Ok(s)
}

/// `engine.retry.timeout_ms` defaults to `api.timeout`.
fn per_request_timeout(config: &crate::config::Config, s: &mut EngineSettings) {
    let timeout_ms = Some(config.api.timeout.as_millis() as u64);
    if let Some(ms) = timeout_ms {
        if config
            .engine
            .get("retry")
            .and_then(|r| r.get("timeout_ms"))
            .is_none()
        {
            s.retry.timeout_ms = ms;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_engine_settings_merge_the_file_over_the_defaults() {
        let mut c = crate::config::Config::default();
        c.api.timeout = std::time::Duration::from_secs(45);
        c.engine = "[threshold]\npercent = 5\n".parse().unwrap();
        let t = effective_engine_table(&c).unwrap();
        let int = |section: &str, key: &str| t[section][key].as_integer();
        assert_eq!(int("threshold", "percent"), Some(5));
        assert_eq!(int("threshold", "min_count"), Some(25));
        assert_eq!(int("retry", "timeout_ms"), Some(45_000));
        assert_eq!(int("history", "keep_days"), Some(90));
        assert!(!t.contains_key("target"));
        // An explicit timeout_ms wins over api.timeout; an invalid table shows nothing.
        c.engine = "[retry]\ntimeout_ms = 1000\n".parse().unwrap();
        let t = effective_engine_table(&c).unwrap();
        assert_eq!(t["retry"]["timeout_ms"].as_integer(), Some(1000));
        c.engine = "concurrency = 0\n".parse().unwrap();
        assert_eq!(effective_engine_table(&c), None);
    }
}
