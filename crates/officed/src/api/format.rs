//! Response formats: JSON, or XML for `Accept: text/xml` (as documented:
//! "Requests for data ... are returned with XML or JSON data based on what
//! your application populates the HTTP Accept headers with").
//!
//! Handlers answer JSON; [`negotiate`] turns a JSON answer into the
//! documented XML shape when the client asked for XML: the root element
//! named per resource with its `urn:xml:` namespace, a JSON array as a
//! wrapper element with one child per item (the child's name given per
//! field), and faults as `<badRequestFault xmlns="urn:xml:fault">`. The XML
//! is written by quick-xml's serde serializer from the reshaped value, never
//! by string building. No `Accept`, `*/*`, `application/*` or JSON answer
//! JSON; an `Accept` naming neither JSON nor XML is 406.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::error::Error;

/// The answer format a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

/// Reads an `Accept` header: the first media type (in the client's order,
/// ignoring quality values) that is JSON or XML decides; `*/*` and
/// `application/*` mean JSON. `None` when nothing acceptable is named.
pub fn wanted(accept: Option<&str>) -> Option<Format> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Some(Format::Json);
    };
    for part in accept.split(',') {
        let mt = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match mt.as_str() {
            "application/json" | "text/json" | "*/*" | "application/*" => {
                return Some(Format::Json)
            }
            "text/xml" | "application/xml" | "text/*" => return Some(Format::Xml),
            m if m.ends_with("+json") => return Some(Format::Json),
            m if m.ends_with("+xml") => return Some(Format::Xml),
            _ => {}
        }
    }
    None
}

/// The root element of a single object's answer, from the request path.
fn object_root(path: &str) -> (&'static str, &'static str) {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let n = segs.len();
    let at = |back: usize| -> &str {
        if back < n {
            segs[n - 1 - back]
        } else {
            ""
        }
    };
    match (at(2), at(1), at(0)) {
        (_, _, "emailaddresses") => ("emailAddressList", "urn:xml:emailAddressList"),
        (_, _, "alternatedomains") => ("alternateDomainList", "urn:xml:alternateDomainList"),
        (_, _, "members") => ("memberList", "urn:xml:memberList"),
        (_, "spam", "settings") if at(3) == "mailboxes" => {
            ("rsMailboxSpamSetting", "urn:xml:RSMailboxSpamSetting")
        }
        (_, "spam", "settings") => ("domainSpamSettings", "urn:xml:DomainSpamSettings"),
        (_, "spam", "safelist") => ("safelist", "urn:xml:safelist"),
        (_, "spam", "blocklist" | "blacklist") => ("blocklist", "urn:xml:blocklist"),
        (_, "spam", "ipsafelist") => ("ipsafelist", "urn:xml:ipsafelist"),
        (_, "spam", "ipblocklist") => ("ipblocklist", "urn:xml:ipblocklist"),
        (_, _, t) if t.eq_ignore_ascii_case("logintoken") => ("loginToken", "urn:xml:loginToken"),
        ("ex", "mailboxes", _) => ("mailbox", "urn:xml:mailbox"),
        ("rs", "mailboxes", _) => ("rsMailbox", "urn:xml:rsMailbox"),
        ("rs", "aliases", _) => ("rsAlias", "urn:xml:rsAliasInfo"),
        ("ex", "contacts", _) => ("contact", "urn:xml:contact"),
        ("ex", "distributionlists", _) => ("DistributionList", "urn:xml:DistributionList"),
        (_, "domains", _) => ("domain", "urn:xml:domain"),
        _ => ("response", "urn:xml:response"),
    }
}

/// A list page's root and item names, by the key of its array (domain
/// aliases use the same `alias` item name).
fn page_names(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        "domains" => ("domainList", "domain"),
        "mailboxes" => ("mailboxList", "mailbox"),
        "rsMailboxes" => ("rsMailboxList", "rsMailbox"),
        "aliases" => ("aliasList", "alias"),
        "contacts" => ("contactList", "contact"),
        "distributionLists" | "distributionlists" => ("distributionlistList", "distributionlist"),
        _ => return None,
    })
}

/// Element names of array items: an array under one of these keys is a
/// list of repeated elements already.
const ITEM_NAMES: &[&str] = &[
    "emailAddress",
    "member",
    "EmailAddress",
    "Member",
    "Sender",
    "domain",
    "alias",
];

/// The order of a root's children: paging first, then `name` and
/// `displayName`, then the rest by name.
fn rank(k: &str) -> u8 {
    match k {
        "offset" => 0,
        "size" => 1,
        "total" => 2,
        "name" | "Name" => 3,
        "displayName" | "DisplayName" => 4,
        "message" => 5,
        "details" => 6,
        "code" => 7,
        _ => 8,
    }
}

/// The element name of one item of an array field.
fn item_name(field: &str) -> &'static str {
    match field {
        "emailAddressList" | "emailForwardingAddressList" => "emailAddress",
        "members" => "member",
        "EmailAddresses" => "EmailAddress",
        "Members" => "Member",
        "AcceptMessagesOnlyFrom" => "Sender",
        "acceptedDomains" => "domain",
        "alternateDomains" => "alternateDomain",
        "addresses" => "address",
        key => match page_names(key) {
            Some((_, item)) => item,
            None => "item",
        },
    }
}

/// A value reshaped for the XML serializer, with object fields in the
/// documented order.
enum X {
    V(Value),
    O(Vec<(String, X)>),
    A(Vec<X>),
}

impl serde::Serialize for X {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            X::V(v) => v.serialize(s),
            X::O(fields) => {
                let mut m = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            X::A(items) => {
                let mut q = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    q.serialize_element(i)?;
                }
                q.end()
            }
        }
    }
}

/// Reshapes a JSON value for the XML serializer: arrays become wrapper
/// elements of named items, nulls are left out, and fields come in the
/// documented order (paging, name, displayName, then by name).
fn reshape(v: Value, field: &str) -> X {
    match v {
        // Already the documented nesting (`{"emailAddress": [...]}`): the
        // items repeat as elements of that name.
        Value::Array(items) if ITEM_NAMES.contains(&field) => {
            X::A(items.into_iter().map(|i| reshape(i, "")).collect())
        }
        Value::Array(items) => X::O(vec![(
            item_name(field).to_string(),
            X::A(items.into_iter().map(|i| reshape(i, "")).collect()),
        )]),
        Value::Object(o) => {
            let mut fields: Vec<(String, X)> = o
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    let r = reshape(v, &k);
                    (k, r)
                })
                .collect();
            fields.sort_by(|a, b| rank(&a.0).cmp(&rank(&b.0)).then_with(|| a.0.cmp(&b.0)));
            X::O(fields)
        }
        other => X::V(other),
    }
}

/// The XML document for a JSON answer to `path`.
pub fn to_xml(path: &str, json: Value) -> Result<String, String> {
    let (root, ns, body): (String, String, Value) = match json {
        Value::Object(o) if o.len() == 1 && o.keys().all(|k| k.ends_with("Fault")) => {
            let (k, v) = o.into_iter().next().expect("one key");
            (k, "urn:xml:fault".into(), v)
        }
        Value::Object(o) => {
            let page = o
                .iter()
                .find(|(k, v)| v.is_array() && page_names(k).is_some())
                .map(|(k, _)| k.clone());
            match page {
                Some(key) if o.contains_key("total") => {
                    let (root, _) = page_names(&key).expect("known page key");
                    (
                        root.to_string(),
                        format!("urn:xml:{root}"),
                        Value::Object(o),
                    )
                }
                _ => {
                    let (root, ns) = object_root(path);
                    (root.to_string(), ns.to_string(), Value::Object(o))
                }
            }
        }
        other => {
            let (root, ns) = object_root(path);
            let mut o = Map::new();
            o.insert("value".into(), other);
            (root.to_string(), ns.to_string(), Value::Object(o))
        }
    };
    let mut doc: Vec<(String, X)> = vec![
        (
            "@xmlns:xsi".into(),
            X::V(Value::String(
                "http://www.w3.org/2001/XMLSchema-instance".into(),
            )),
        ),
        (
            "@xmlns:xsd".into(),
            X::V(Value::String("http://www.w3.org/2001/XMLSchema".into())),
        ),
        ("@xmlns".into(), X::V(Value::String(ns))),
    ];
    if let X::O(rest) = reshape(body, "") {
        doc.extend(rest);
    }
    let text = quick_xml::se::to_string_with_root(&root, &X::O(doc)).map_err(|e| e.to_string())?;
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n{text}"
    ))
}

/// Middleware: answers 406 to an `Accept` naming neither format, and
/// rewrites JSON answers as XML for clients that asked for XML.
pub async fn negotiate(req: Request, next: Next) -> Response {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(format) = wanted(accept.as_deref()) else {
        return Error::fault(
            cloudoffice_api::FaultKind::BadRequest,
            406,
            "Invalid format",
            "Accept application/json or text/xml.",
        )
        .into_response();
    };
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    if format == Format::Json {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    if !is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = match axum::body::to_bytes(body, 16 << 20).await {
        Ok(b) => b,
        Err(e) => {
            return Error::Internal(format!("reading an answer: {e}")).into_response();
        }
    };
    let xml = serde_json::from_slice::<Value>(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|v| to_xml(&path, v));
    match xml {
        Ok(x) => {
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/xml; charset=utf-8"),
            );
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(x))
        }
        Err(e) => {
            tracing::error!(error = %e, "XML answer could not be written");
            let mut r = Error::Internal(e).into_response();
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accept_table() {
        let cases: &[(Option<&str>, Option<Format>)] = &[
            (None, Some(Format::Json)),
            (Some(""), Some(Format::Json)),
            (Some("*/*"), Some(Format::Json)),
            (Some("application/json"), Some(Format::Json)),
            (Some("text/xml"), Some(Format::Xml)),
            (
                Some("application/xml;q=0.9, application/json"),
                Some(Format::Xml),
            ),
            (Some("text/html, application/json"), Some(Format::Json)),
            (Some("text/html"), None),
        ];
        for (a, want) in cases {
            assert_eq!(wanted(*a), *want, "{a:?}");
        }
    }

    #[test]
    fn documented_shapes() {
        let x = to_xml(
            "/v1/customers/me/domains/example.com/ex/mailboxes",
            json!({"offset": 0, "size": 50, "total": 1, "mailboxes": [{"name": "a", "displayName": "A"}]}),
        )
        .unwrap();
        assert!(
            x.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<mailboxList "),
            "{x}"
        );
        assert!(x.contains("xmlns=\"urn:xml:mailboxList\""), "{x}");
        assert!(x.contains("<offset>0</offset><size>50</size><total>1</total><mailboxes><mailbox><name>a</name><displayName>A</displayName></mailbox></mailboxes>"), "{x}");
        let x = to_xml(
            "/v1/customers/me/domains/example.com/rs/mailboxes/a",
            json!({"name": "a&b", "emailForwardingAddressList": {"emailAddress": ["x@y.z"]}, "enabled": true, "lastLogin": null}),
        )
        .unwrap();
        assert!(x.contains("<rsMailbox "), "{x}");
        assert!(x.contains("<name>a&amp;b</name>"), "{x}");
        assert!(x.contains("<emailForwardingAddressList><emailAddress>x@y.z</emailAddress></emailForwardingAddressList>"), "{x}");
        assert!(!x.contains("lastLogin"), "{x}");
        let x = to_xml(
            "/v1/x",
            json!({"badRequestFault": {"message": "m", "details": "d", "code": 400}}),
        )
        .unwrap();
        assert!(x.contains("<badRequestFault "), "{x}");
        assert!(x.contains("xmlns=\"urn:xml:fault\""), "{x}");
        assert!(x.contains("<code>400</code>"), "{x}");
    }
}
