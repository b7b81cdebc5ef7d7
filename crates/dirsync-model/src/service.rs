//! The two mailbox services of a Cloud Office account. One enum for the
//! directory reader (which service group an object is in), the engine
//! (which service a mailbox lives in) and every message that names one.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Hosted Exchange or Rackspace Email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    Exchange,
    RsEmail,
}

impl Service {
    /// Its name in JSON, the state store and logs: `exchange`, `rs_email`
    /// (also its [`Display`](fmt::Display) form).
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Exchange => "exchange",
            Service::RsEmail => "rs_email",
        }
    }

    /// Its name in sentences: `Exchange`, `Rackspace Email`.
    pub fn name(self) -> &'static str {
        match self {
            Service::Exchange => "Exchange",
            Service::RsEmail => "Rackspace Email",
        }
    }

    /// The label the control panel uses in its messages.
    pub fn mailboxes_label(self) -> &'static str {
        match self {
            Service::Exchange => "Hosted Exchange Mailboxes",
            Service::RsEmail => "Rackspace Email Mailboxes",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let cases = [
            (
                Service::Exchange,
                "exchange",
                "Exchange",
                "Hosted Exchange Mailboxes",
            ),
            (
                Service::RsEmail,
                "rs_email",
                "Rackspace Email",
                "Rackspace Email Mailboxes",
            ),
        ];
        for (s, key, name, label) in cases {
            assert_eq!(s.as_str(), key);
            assert_eq!(s.to_string(), key);
            assert_eq!(s.name(), name);
            assert_eq!(s.mailboxes_label(), label);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{key}\""));
        }
    }
}
