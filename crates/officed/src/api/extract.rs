//! Extractors whose rejections are fault bodies, never axum's plain text:
//! path, query, form, JSON, [`Body`] (form or JSON), and [`Scope`] (the
//! domain a request is about, resolved and authorised once).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::{check_customer, domain_for, AppState, Caller};
use crate::admin::KeyDomain;
use crate::db::internal;
use crate::error::Error;
use crate::store::domains::not_customers;
use crate::store::{Actor, DomainRow};

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

/// The domain a request is about, and who asks: the `{c}` (customer) and
/// `{d}` (domain) path segments resolved for the caller's API key, once,
/// before the handler runs. A customer other than the key's, or a domain
/// that is not the customer's, answers 403 "Not authorized" (both alike).
/// `actor` is who the audit log names for the request's changes.
pub struct Scope {
    pub dom: DomainRow,
    pub actor: Actor,
}

impl FromRequestParts<AppState> for Scope {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Error> {
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| internal("Scope is extracted on an unauthenticated route."))?;
        let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, st).await?;
        let segment = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .ok_or_else(|| internal(format!("Scope needs a {{{name}}} path segment.")))
        };
        let (c, d) = (segment("c")?, segment("d")?);
        // The domain read with the key (`auth::authenticate`), when it is
        // the one this path names.
        let read = parts
            .extensions
            .get::<KeyDomain>()
            .filter(|k| k.name.eq_ignore_ascii_case(d));
        let dom = match read {
            Some(k) => {
                check_customer(&caller, c)?;
                k.row.clone().ok_or_else(|| not_customers(d))?
            }
            None => domain_for(st, &caller, c, d).await?,
        };
        Ok(Scope {
            dom,
            actor: Actor::key(&caller.user_key),
        })
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

/// A JSON body (distribution lists: "The v0 method of submitting data via
/// form URL-encoded variables is NOT supported" in v1). A form body is 415;
/// unknown fields and bad values are `validationFault`s naming the field.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Error;
    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let ct = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let bytes = body(req, state).await?;
        if ct.contains("x-www-form-urlencoded") {
            return Err(Error::fault(
                cloudoffice_api::FaultKind::BadRequest,
                415,
                "Unsupported media type.",
                "Send this resource as JSON (application/json); form bodies are not supported for it.",
            ));
        }
        let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            Error::bad_request(
                "The request body is invalid.",
                format!("Expected a JSON body: {e}"),
            )
        })?;
        let serde_json::Value::Object(m) = v else {
            return Err(Error::bad_request(
                "The request body is invalid.",
                "Expected a JSON object of fields.",
            ));
        };
        decode_body(m).map(Json)
    }
}

/// A request body sent either form-encoded (as documented) or as JSON (as
/// the official PowerShell module and other clients send it).
///
/// Both are read into one JSON object first: a form's values stay strings
/// (the lenient field decoders of `cloudoffice_api::lenient` turn
/// `True`/`false`/`"2048"` into booleans and numbers), and a JSON
/// `contactInfo` object is flattened into the top level, so the nested shape
/// of an answer can be sent back as is. A repeated form key keeps its last
/// value. An unknown field, or a value of the wrong type, is a
/// `validationFault` whose message names the field.
pub struct Body<T>(pub T);

/// Reads a form or JSON body into one flat JSON object.
pub fn body_object(
    content_type: &str,
    bytes: &[u8],
) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    let trimmed = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let looks_json = trimmed.map(|i| bytes[i] == b'{').unwrap_or(false);
    let ct = content_type.to_ascii_lowercase();
    if ct.contains("json") || (looks_json && !ct.contains("x-www-form-urlencoded")) {
        let v: serde_json::Value = if trimmed.is_none() {
            serde_json::Value::Object(Default::default())
        } else {
            serde_json::from_slice(bytes).map_err(|e| {
                Error::bad_request(
                    "The request body is invalid.",
                    format!("Expected a JSON object: {e}"),
                )
            })?
        };
        let serde_json::Value::Object(mut m) = v else {
            return Err(Error::bad_request(
                "The request body is invalid.",
                "Expected a JSON object of fields.",
            ));
        };
        if let Some(serde_json::Value::Object(inner)) = m.remove("contactInfo") {
            for (k, v) in inner {
                m.entry(k).or_insert(v);
            }
        }
        Ok(m)
    } else {
        form_is_utf8(bytes)?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).map_err(|e| {
            Error::bad_request(
                "The request body is invalid.",
                format!(
                    "Expected a form-encoded body (application/x-www-form-urlencoded) or JSON: {e}"
                ),
            )
        })?;
        Ok(pairs
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect())
    }
}

/// Decodes a flat JSON object into a body type, naming the field at fault.
pub fn decode_body<T: DeserializeOwned>(
    m: serde_json::Map<String, serde_json::Value>,
) -> Result<T, Error> {
    let single: Vec<(String, serde_json::Value)> =
        m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    serde_json::from_value(serde_json::Value::Object(m)).map_err(|e| {
        let text = e.to_string();
        if let Some(rest) = text.strip_prefix("unknown field `") {
            let field = rest.split('`').next().unwrap_or("");
            return Error::validation(
                format!("Unknown field: {}", crate::validate::printable(field)),
                "Send only the documented fields of this resource (see /v1/openapi.json).",
            );
        }
        // serde_json does not say which field held a bad value: decode the
        // fields one at a time (every body field is optional) to find it.
        let field = single.into_iter().find_map(|(k, v)| {
            let mut one = serde_json::Map::new();
            one.insert(k.clone(), v);
            serde_json::from_value::<T>(serde_json::Value::Object(one))
                .err()
                .map(|_| k)
        });
        let detail = text.split(" at line").next().unwrap_or(&text).to_string();
        match field {
            Some(f) => Error::validation(
                format!("Invalid value for field: {}", crate::validate::printable(&f)),
                format!("{detail}. Booleans are true or false (any case); numbers are whole numbers, as digits or a string of digits."),
            ),
            None => Error::validation("Invalid request body.", detail),
        }
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Error;
    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let ct = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = body(req, state).await?;
        decode_body(body_object(&ct, &bytes)?).map(Body)
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
