//! Why a request failed, and what a caller may do about it (retry, map
//! the rule to its own catalogue).

use crate::fault::RuleViolation;

/// Why a request failed (after retries, when the failure was transient).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The connection failed, was reset or closed, or timed out.
    #[error("{method} {path}: connection failed after {attempts} attempt(s): {detail}")]
    Transport {
        method: String,
        path: String,
        detail: String,
        attempts: u32,
    },
    /// The API answered with an error status.
    #[error("{method} {path}: HTTP {status}: {message}")]
    Fault {
        method: String,
        path: String,
        status: u16,
        /// The fault message (from the body or the `x-error-message` header).
        message: String,
        /// The fault's details, when any.
        details: String,
        rule: Option<RuleViolation>,
        attempts: u32,
    },
    /// The answer could not be read as the expected type.
    #[error("{method} {path}: unexpected answer: {detail}")]
    Decode {
        method: String,
        path: String,
        detail: String,
    },
    /// The configuration cannot work (bad URL...).
    #[error("client configuration: {0}")]
    Config(String),
}

impl ClientError {
    /// The HTTP status of a fault.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Fault { status, .. } => Some(*status),
            _ => None,
        }
    }
    /// The control-panel rule the fault reports.
    pub fn rule(&self) -> Option<RuleViolation> {
        match self {
            ClientError::Fault { rule, .. } => *rule,
            _ => None,
        }
    }
    /// True for 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
    /// True when retrying later may succeed (connection trouble, 5xx, throttling).
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Transport { .. } => true,
            ClientError::Fault { status, rule, .. } => {
                *status >= 500
                    || *status == 429
                    || *rule == Some(RuleViolation::ExceededRequestLimits)
            }
            _ => false,
        }
    }
    /// How many attempts were made.
    pub fn attempts(&self) -> u32 {
        match self {
            ClientError::Transport { attempts, .. } | ClientError::Fault { attempts, .. } => {
                *attempts
            }
            _ => 1,
        }
    }
    /// The API's own message (faults) or the transport detail.
    pub fn message(&self) -> String {
        match self {
            ClientError::Fault {
                message, details, ..
            } if !details.is_empty() => format!("{message} ({details})"),
            ClientError::Fault { message, .. } => message.clone(),
            ClientError::Transport { detail, .. } | ClientError::Decode { detail, .. } => {
                detail.clone()
            }
            ClientError::Config(d) => d.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_classification() {
        let f = |status: u16, message: &str| ClientError::Fault {
            method: "GET".into(),
            path: "/".into(),
            status,
            message: message.into(),
            details: String::new(),
            rule: RuleViolation::classify(message),
            attempts: 1,
        };
        assert!(f(500, "boom").is_transient());
        assert!(f(503, "").is_transient());
        assert!(f(429, "").is_transient());
        assert!(f(403, "Exceeded request limits").is_transient());
        assert!(!f(403, "Not authorized").is_transient());
        assert!(!f(400, "Mailbox limit exceeded.").is_transient());
        assert_eq!(
            f(400, "Mailbox limit exceeded.").rule(),
            Some(RuleViolation::MailboxLimitExceeded)
        );
        assert!(f(404, "").is_not_found());
    }
}
