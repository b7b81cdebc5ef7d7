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

/// A form-encoded body (`application/x-www-form-urlencoded`).
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = Error;
    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            Error::bad_request("The request body could not be read.", e.body_text())
        })?;
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
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            Error::bad_request("The request body could not be read.", e.body_text())
        })?;
        serde_json::from_slice(&bytes).map(Json).map_err(|e| {
            Error::bad_request(
                "The request body is invalid.",
                format!("Expected a JSON body: {e}"),
            )
        })
    }
}
