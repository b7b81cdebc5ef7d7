//! The service's error type: every failure a client can see is a Cloud
//! Office fault (kind, status, message, details). Database and internal
//! failures become a generic `appsFault` whose details never carry
//! internals (they are logged instead).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cloudoffice_api::{messages, Fault, FaultKind, ERROR_MESSAGE_HEADER};

/// An error answered to API clients (and shown by the admin CLI).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A refusal with a stable message.
    #[error("{message}{}", if details.is_empty() { String::new() } else { format!(" ({details})") })]
    Fault {
        kind: FaultKind,
        status: u16,
        message: String,
        details: String,
    },
    /// A database failure (logged; answered as a generic appsFault).
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Any other internal failure.
    #[error("internal error: {0}")]
    Internal(String),
    /// The SQLite batch a write was committed with failed as a whole (see
    /// `store::group`): the write is run again.
    #[error("batch not committed: {0}")]
    BatchAborted(String),
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn fault(
        kind: FaultKind,
        status: u16,
        message: impl Into<String>,
        details: impl Into<String>,
    ) -> Self {
        Error::Fault {
            kind,
            status,
            message: message.into(),
            details: details.into(),
        }
    }
    /// 400 badRequestFault.
    pub fn bad_request(message: impl Into<String>, details: impl Into<String>) -> Self {
        Self::fault(FaultKind::BadRequest, 400, message, details)
    }
    /// 404 itemNotFoundFault.
    pub fn not_found(message: impl Into<String>, details: impl Into<String>) -> Self {
        Self::fault(FaultKind::ItemNotFound, 404, message, details)
    }
    /// 403 unauthorizedFault "Not authorized".
    pub fn not_authorized(details: impl Into<String>) -> Self {
        Self::fault(
            FaultKind::Unauthorized,
            403,
            messages::NOT_AUTHORIZED,
            details,
        )
    }
    /// 400 appsFault: the object or address already exists (the documented
    /// `appsFault` covers such conflicts; the message is the seed text).
    pub fn exists(message: impl Into<String>, details: impl Into<String>) -> Self {
        Self::fault(FaultKind::Apps, 400, message, details)
    }
    /// 400 validationFault: a field of the body is unknown or invalid; the
    /// message names it.
    pub fn validation(message: impl Into<String>, details: impl Into<String>) -> Self {
        Self::fault(FaultKind::Validation, 400, message, details)
    }
    /// 403 unauthorizedFault "Authentication failed." (the documented status
    /// of a failed authentication).
    pub fn authentication(details: impl Into<String>) -> Self {
        Self::fault(
            FaultKind::Unauthorized,
            403,
            messages::AUTHENTICATION_FAILED,
            details,
        )
    }
    /// 403 unauthorizedFault "Exceeded request limits".
    pub fn throttled(details: impl Into<String>) -> Self {
        Self::fault(
            FaultKind::Unauthorized,
            403,
            messages::EXCEEDED_REQUEST_LIMITS,
            details,
        )
    }
    /// 400 "Mailbox limit exceeded."
    pub fn mailbox_limit(details: impl Into<String>) -> Self {
        Self::fault(
            FaultKind::Apps,
            400,
            messages::MAILBOX_LIMIT_EXCEEDED,
            details,
        )
    }
    /// 400 alternate address outside the primary/accepted domains.
    pub fn alternate_domain(details: impl Into<String>) -> Self {
        Self::bad_request(messages::ALTERNATE_ADDRESS_DOMAIN, details)
    }

    /// True for transient database conflicts (deadlock, serialization
    /// failure, SQLite busy/locked) that a retry of the whole operation fixes.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Db(sqlx::Error::Database(e)) => {
                let code = e.code().map(|c| c.to_string()).unwrap_or_default();
                matches!(
                    code.as_str(),
                    "40P01" | "40001" | "5" | "6" | "517" | "261" | "262"
                ) || e.message().contains("database is locked")
                    || e.message().contains("deadlock detected")
            }
            Error::Db(sqlx::Error::PoolTimedOut) | Error::BatchAborted(_) => true,
            _ => false,
        }
    }

    /// The fault sent on the wire.
    pub fn to_fault(&self) -> Fault {
        match self {
            Error::Fault {
                kind,
                status,
                message,
                details,
            } => {
                let f = Fault::new(*kind, *status, message.clone(), details.clone());
                if *kind == FaultKind::ItemNotFound {
                    f.with_resource_type(resource_type(message))
                } else {
                    f
                }
            }
            Error::Db(_) | Error::Internal(_) | Error::BatchAborted(_) => Fault::new(
                FaultKind::Apps,
                500,
                "An internal error occurred.",
                "The failure was logged by the service.",
            ),
        }
    }
}

/// The documented `resourceType` of an `itemNotFoundFault`, from officed's
/// "<Resource> not found." messages: `Mailbox`, `Domain`, `Alias`, ...
fn resource_type(message: &str) -> String {
    let head = message.split(" not found").next().unwrap_or(message).trim();
    match head {
        "Distribution list" => "DistributionList".to_string(),
        "Email address" => "EmailAddress".to_string(),
        "Alternate domain" => "AlternateDomain".to_string(),
        "Resource" => "Resource".to_string(),
        other => other.replace(' ', ""),
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if matches!(
            self,
            Error::Db(_) | Error::Internal(_) | Error::BatchAborted(_)
        ) {
            tracing::error!(error = %self, "request failed");
        }
        let fault = self.to_fault();
        let status =
            StatusCode::from_u16(fault.detail.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // Header values are visible ASCII: anything else becomes '?' (the body has the exact text).
        let ascii: String = fault
            .detail
            .message
            .chars()
            .map(|c| {
                if c == ' ' || c.is_ascii_graphic() {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        let header =
            HeaderValue::from_str(&ascii).unwrap_or_else(|_| HeaderValue::from_static("error"));
        let mut resp = (status, axum::Json(fault)).into_response();
        resp.headers_mut().insert(ERROR_MESSAGE_HEADER, header);
        resp
    }
}
