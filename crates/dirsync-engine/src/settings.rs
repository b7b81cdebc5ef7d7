//! The engine's settings, embeddable in the agent's TOML configuration.

use cloudoffice_api::client::{RateLimit, RetryPolicy};
use cloudoffice_api::Secret;
use serde::{Deserialize, Serialize};

pub use crate::plan::DeletePolicy;

/// Where the control panel is and who dirsync is there.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSettings {
    /// The API base URL including its version prefix, e.g. `https://api.emailsrvr.com/v1`.
    pub base_url: String,
    /// The API user key.
    pub user_key: String,
    /// The API secret key. Never printed: [`Secret`] serialises as `[redacted]`.
    pub secret: Secret,
    /// The customer account number, or `me` for the key's own customer.
    #[serde(default = "me")]
    pub customer: String,
    /// The User-Agent sent (and signed) with every request.
    #[serde(default = "user_agent")]
    pub user_agent: String,
}

fn me() -> String {
    "me".into()
}

fn user_agent() -> String {
    format!("dirsync/{}", env!("CARGO_PKG_VERSION"))
}

fn yes() -> bool {
    true
}

fn concurrency() -> usize {
    4
}

/// The safety limits of an apply, overridden together for one run by
/// `sync --override-threshold`.
///
/// - The disable/delete threshold: a run refuses when more than `percent`%
///   of the synced objects, and at least `min_count` of them, would be
///   disabled or deleted (DS201).
/// - The group limits, which hold at any directory size: a run refuses when
///   a service group or a distribution list that had members in the last
///   sync reads as empty, or loses more than `group_percent`% of its
///   members and at least `group_min_count` of them at once (DS204).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Threshold {
    pub percent: u32,
    pub min_count: u32,
    pub group_percent: u32,
    pub group_min_count: u32,
}

impl Default for Threshold {
    fn default() -> Self {
        Threshold {
            percent: 10,
            min_count: 25,
            group_percent: 25,
            group_min_count: 5,
        }
    }
}

impl Threshold {
    /// True when a group that had `before` members, has `after` now and
    /// lost `removed` of the former changed too much at once: emptied, or
    /// over the group limits.
    pub fn group_dropped(&self, before: usize, after: usize, removed: usize) -> bool {
        (before > 0 && after == 0)
            || (removed > 0
                && removed >= self.group_min_count as usize
                && (removed as u128) * 100 > (self.group_percent as u128) * (before as u128))
    }

    /// True when `count` of `total` synced objects is too many.
    pub fn exceeded(&self, count: usize, total: usize) -> bool {
        count > 0
            && count >= self.min_count as usize
            && (count as u128) * 100 > (self.percent as u128) * (total as u128)
    }
}

/// How much run history the state store keeps. Every run is recorded,
/// idle ones included (a `serve` at a one-minute interval records over
/// half a million a year, and a full run's report at 10,000 users is about
/// 16 MB), so without a limit the store only grows.
///
/// After each run, runs that started more than `keep_days` days ago are
/// deleted with their per-object outcomes, except the newest `keep_runs`
/// runs, which are kept whatever their age. A run still in progress is
/// never deleted. `keep_days = 0` keeps every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HistorySettings {
    pub keep_days: u32,
    pub keep_runs: u32,
}

impl Default for HistorySettings {
    fn default() -> Self {
        HistorySettings {
            keep_days: 90,
            keep_runs: 100,
        }
    }
}

/// Everything the engine needs besides the directory input.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSettings {
    pub target: TargetSettings,
    /// Sync `smtp:` proxyAddresses as alternate addresses / aliases (default on).
    #[serde(default = "yes")]
    pub sync_alternates: bool,
    /// What happens to mailboxes that leave the scope (default: disable only).
    #[serde(default)]
    pub delete_policy: DeletePolicy,
    #[serde(default)]
    pub threshold: Threshold,
    /// Rename mailboxes whose `mail` local part changed, through the control
    /// panel's rename operation (`POST .../mailboxes/{name}/rename`), instead
    /// of reporting DS008. Renaming changes a Service ID, so officed allows it
    /// only to API keys issued with the rename permission (`officed key issue
    /// --allow-rename`); when the target refuses for lack of permission (or
    /// has no rename operation) the object's outcome is DS008 with its
    /// solution, exactly as without this setting.
    #[serde(default)]
    pub allow_rename: bool,
    /// Operations in flight at once.
    #[serde(default = "concurrency")]
    pub concurrency: usize,
    #[serde(default)]
    pub rate_limit: RateLimit,
    /// Plan, never write.
    #[serde(default)]
    pub staging: bool,
    #[serde(default)]
    pub retry: RetryPolicy,
    #[serde(default)]
    pub history: HistorySettings,
    /// The rolling verification's GET budget ([`crate::verify`]).
    #[serde(default)]
    pub verify: crate::verify::VerifySettings,
}

/// Why settings are unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("engine setting {field}: {problem}")]
pub struct SettingsError {
    pub field: &'static str,
    pub problem: String,
}

impl EngineSettings {
    /// Settings with defaults for everything but the target.
    pub fn new(target: TargetSettings) -> Self {
        EngineSettings {
            target,
            sync_alternates: true,
            delete_policy: DeletePolicy::Never,
            threshold: Threshold::default(),
            allow_rename: false,
            concurrency: concurrency(),
            rate_limit: RateLimit::default(),
            staging: false,
            retry: RetryPolicy::default(),
            history: HistorySettings::default(),
            verify: crate::verify::VerifySettings::default(),
        }
    }

    /// Checks the values, with a message naming the field.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let err = |field, problem: &str| {
            Err(SettingsError {
                field,
                problem: problem.to_string(),
            })
        };
        match url::Url::parse(&self.target.base_url) {
            Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {}
            _ => {
                return err(
                    "target.base_url",
                    "must be an http(s) URL such as https://api.emailsrvr.com/v1",
                )
            }
        }
        if self.target.user_key.trim().is_empty() {
            return err("target.user_key", "must not be empty");
        }
        if self.target.secret.is_empty() {
            return err("target.secret", "must not be empty");
        }
        if self.target.customer.trim().is_empty() || self.target.customer.contains('/') {
            return err("target.customer", "must be an account number or \"me\"");
        }
        if self.concurrency == 0 || self.concurrency > 64 {
            return err("concurrency", "must be between 1 and 64");
        }
        if self.rate_limit.gets_per_min == 0 || self.rate_limit.writes_per_min == 0 {
            return err(
                "rate_limit",
                "gets_per_min and writes_per_min must be at least 1",
            );
        }
        if self.threshold.percent > 100 {
            return err("threshold.percent", "must be between 0 and 100");
        }
        if self.retry.max_attempts == 0 {
            return err("retry.max_attempts", "must be at least 1");
        }
        if self.history.keep_runs == 0 {
            return err(
                "history.keep_runs",
                "must be at least 1: the newest run is what the dashboard shows",
            );
        }
        if let DeletePolicy::AfterGrace { days } = self.delete_policy {
            if days == 0 {
                return err(
                    "delete_policy.days",
                    "the grace period must be at least 1 day",
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_with_defaults_and_redaction() {
        let s: EngineSettings = toml::from_str(
            r#"
            [target]
            base_url = "http://127.0.0.1:8070/v1"
            user_key = "k"
            secret = "s3cret"
            [delete_policy]
            policy = "after_grace"
            days = 30
            "#,
        )
        .unwrap();
        assert!(s.sync_alternates);
        assert_eq!(
            s.threshold,
            Threshold {
                percent: 10,
                min_count: 25,
                group_percent: 25,
                group_min_count: 5,
            }
        );
        assert_eq!(
            s.rate_limit,
            RateLimit {
                gets_per_min: 60,
                writes_per_min: 30
            }
        );
        assert_eq!(s.delete_policy, DeletePolicy::AfterGrace { days: 30 });
        assert_eq!(s.target.customer, "me");
        assert_eq!(
            s.history,
            HistorySettings {
                keep_days: 90,
                keep_runs: 100
            }
        );
        s.validate().unwrap();
        let shown = serde_json::to_string(&s).unwrap();
        assert!(!shown.contains("s3cret") && shown.contains("[redacted]"));
        assert!(!format!("{s:?}").contains("s3cret"));
    }

    #[test]
    fn threshold_table() {
        let t = Threshold::default();
        for (count, total, want) in [
            (0, 0, false),
            (24, 24, false),
            (25, 100, true),
            (25, 250, false),
            (26, 250, true),
            (30, 1000, false),
        ] {
            assert_eq!(t.exceeded(count, total), want, "{count}/{total}");
        }
    }

    #[test]
    fn validation_names_the_field() {
        let mut s = EngineSettings::new(TargetSettings {
            base_url: "ftp://x".into(),
            user_key: "k".into(),
            secret: Secret::new("s"),
            customer: "me".into(),
            user_agent: "ua".into(),
        });
        assert_eq!(s.validate().unwrap_err().field, "target.base_url");
        s.target.base_url = "https://api.example.com/v1".into();
        s.concurrency = 0;
        assert_eq!(
            s.validate().unwrap_err().to_string(),
            "engine setting concurrency: must be between 1 and 64"
        );
        s.concurrency = 4;
        s.history.keep_runs = 0;
        assert_eq!(s.validate().unwrap_err().field, "history.keep_runs");
        s.history = HistorySettings {
            keep_days: 0,
            keep_runs: 1,
        };
        s.validate().unwrap();
    }
}
