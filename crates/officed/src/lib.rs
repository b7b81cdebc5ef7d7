//! officed: the hosted-email control panel service, with a REST API shaped
//! like the Cloud Office API (see `docs/officed.md`).
//!
//! - [`api::app`]: the axum router (`/v1`, `/healthz`, `/v1/openapi.json`).
//! - [`store`]: storage, one module per resource; its pure rules in [`store::rules`].
//! - [`admin`]: administrator operations (customers, domains, licences, keys).
//! - [`Service`]: start it in-process; [`sample_account`] for demos.

pub mod admin;
pub mod api;
mod conns;
pub mod crypto;
pub mod db;
pub mod error;
pub mod openapi;
pub mod serve;
pub mod service;
pub mod store;
pub mod validate;

pub use api::{ApiConfig, ThrottleLimits};
pub use db::Db;
pub use error::{Error, Result};
pub use service::{
    sample_account, sample_account_in, Config, RunningService, SampleAccount, Service, StartError,
};
