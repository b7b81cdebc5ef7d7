//! Extractors whose rejections are fault bodies (400), never axum's plain
//! text: path, query, form and JSON.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::Error;

/// Path parameters.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| Error::bad_request("The request path is invalid.", e.body_text()))
    }
}

/// Query string.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Query<T> {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(q)
            .map(Query)
            .map_err(|e| Error::bad_request("The query string is invalid.", e.to_string()))
    }
}

/// A request body, with the body limit's refusal as a 413 fault.
async fn body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, Error> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            Error::fault(
                cloudoffice_api::FaultKind::BadRequest,
                413,
                "The request body is too large.",
                "A request body may be at most 1 MiB.",
            )
        } else {
            Error::bad_request("The request body could not be read.", e.body_text())
        }
    })
}

/// Refuses a form body whose names or values are not UTF-8 once
/// percent-decoded (`displayName=%FF%FE`), which the decoder would
/// otherwise store as U+FFFD.
fn form_is_utf8(body: &[u8]) -> Result<(), Error> {
    let invalid = |what: String| {
        Error::bad_request(
            "The request body is invalid.",
            format!("{what} is not UTF-8 text once percent-decoded; send form values as UTF-8."),
        )
    };
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let mut halves = pair.splitn(2, |b| *b == b'=');
        let name = percent_decode(halves.next().unwrap_or_default());
        let value = percent_decode(halves.next().unwrap_or_default());
        let name = String::from_utf8(name).map_err(|_| invalid("A field name".into()))?;
        if std::str::from_utf8(&value).is_err() {
            return Err(invalid(format!(
                "The value of '{}'",
                crate::validate::printable(&name)
            )));
        }
    }
    Ok(())
}

/// `+` as a space and `%XX` as its byte; a `%` not followed by two hex
/// digits stays as it is (as the form decoder reads it).
fn percent_decode(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match (
            s[i],
            s.get(i + 1).copied().and_then(hex),
            s.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// A form-encoded body (`application/x-www-form-urlencoded`).
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = Error;
    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let bytes = body(req, state).await?;
        form_is_utf8(&bytes)?;
        serde_urlencoded::from_bytes(&bytes).map(Form).map_err(|e| {
            Error::bad_request(
                "The request body is invalid.",
                format!("Expected a form-encoded body (application/x-www-form-urlencoded): {e}"),
            )
        })
    }
}

/// A JSON body.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Error;
    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let bytes = body(req, state).await?;
        serde_json::from_slice(&bytes).map(Json).map_err(|e| {
            Error::bad_request(
                "The request body is invalid.",
                format!("Expected a JSON body: {e}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_must_be_utf8_once_decoded() {
        for ok in [
            "displayName=J%C3%B6rg+M",
            "a=1&b=%E2%82%AC",
            "",
            "x=%zz",
            "name%20x=1",
        ] {
            assert!(form_is_utf8(ok.as_bytes()).is_ok(), "{ok}");
        }
        for (bad, what) in [
            ("displayName=%FF%FE", "The value of 'displayName'"),
            ("a=1&title=ok%C3", "The value of 'title'"),
            ("%FF=1", "A field name"),
        ] {
            let e = form_is_utf8(bad.as_bytes()).unwrap_err();
            let f = e.to_fault();
            assert_eq!(f.detail.code, 400, "{bad}");
            assert!(
                f.detail.details.starts_with(what),
                "{bad}: {}",
                f.detail.details
            );
        }
        assert!(
            form_is_utf8(b"a=\xff").is_err(),
            "raw bytes are checked too"
        );
    }
}
