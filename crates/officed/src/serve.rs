//! The HTTP/1 server loop: officed's defences against slow and abusive
//! clients, below the router.
//!
//! - A header-read timeout: a request head (request line and headers) not
//!   complete within [`Limits::header_read_timeout`] closes the connection.
//! - A cap on open connections ([`Limits::max_connections`]). At the cap, a
//!   new connection first replaces the oldest one that has not yet sent a
//!   complete request (a slow or half-sent client); when every open
//!   connection has sent one, the new connection is refused with a 503
//!   fault body and closed. One client holding many half-sent requests
//!   therefore cannot keep other clients out.
//! - A request head of at most [`Limits::max_header_bytes`]; the request
//!   body limit is the router's (see `api::app`).
//! - hyper's own refusals of malformed requests (400, 414, 431), which it
//!   writes without a body, are given the Cloud Office fault body that
//!   every other error answer carries (`FaultOnBareError`).

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use cloudoffice_api::{Fault, FaultKind, ERROR_MESSAGE_HEADER};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

/// The serving limits (see the module documentation and docs/officed.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Time a client has to send a complete request head.
    pub header_read_timeout: Duration,
    /// Bytes of a request head (request line and headers).
    pub max_header_bytes: usize,
    /// Bytes of a request's path and query string.
    pub max_uri_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 512,
            header_read_timeout: Duration::from_secs(15),
            max_header_bytes: 64 * 1024,
            max_uri_bytes: 8 * 1024,
        }
    }
}

struct Conn {
    opened: Instant,
    /// Set once a complete request head arrived on the connection.
    requested: Arc<AtomicBool>,
    close: Option<oneshot::Sender<()>>,
}

#[derive(Default)]
struct Conns {
    next: u64,
    open: HashMap<u64, Conn>,
}

type Registry = Arc<Mutex<Conns>>;

fn lock(r: &Registry) -> std::sync::MutexGuard<'_, Conns> {
    r.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Serves `router` on `listener` until `shutdown` fires, then stops
/// accepting, lets the open connections finish their requests, and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: oneshot::Receiver<()>,
) -> io::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192) + 8192)
        .max_header_size(limits.max_header_bytes)
        // One flat buffer per write, so a bare error head is seen whole.
        .writev(false);
    let builder = Arc::new(builder);
    let registry: Registry = Arc::default();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (sock, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to close.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        while tasks.try_join_next().is_some() {}
        let Some((id, requested, close)) = admit(&registry, limits.max_connections) else {
            tracing::warn!(%peer, max = limits.max_connections, "connection refused: every open connection is in use");
            tasks.spawn(refuse(sock, limits.max_connections));
            continue;
        };
        let conn = serve_conn(
            sock,
            router.clone(),
            builder.clone(),
            requested,
            close,
            stop_rx.clone(),
        );
        let registry = registry.clone();
        tasks.spawn(async move {
            conn.await;
            lock(&registry).open.remove(&id);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // In-flight requests finish; a connection that will not is cut after a while.
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

/// Makes room for a new connection: `None` when the cap is reached and every
/// open connection has sent a request (the new one is then refused).
fn admit(r: &Registry, max: usize) -> Option<(u64, Arc<AtomicBool>, oneshot::Receiver<()>)> {
    let mut c = lock(r);
    if c.open.len() >= max.max(1) {
        let victim = c
            .open
            .iter()
            .filter(|(_, k)| !k.requested.load(Ordering::Relaxed))
            .min_by_key(|(_, k)| k.opened)
            .map(|(id, _)| *id)?;
        if let Some(mut old) = c.open.remove(&victim) {
            tracing::debug!(
                "connection limit: closing a connection that sent no complete request in {:?}",
                old.opened.elapsed()
            );
            if let Some(tx) = old.close.take() {
                let _ = tx.send(());
            }
        }
    }
    c.next += 1;
    let id = c.next;
    let requested = Arc::new(AtomicBool::new(false));
    let (tx, rx) = oneshot::channel();
    c.open.insert(
        id,
        Conn {
            opened: Instant::now(),
            requested: requested.clone(),
            close: Some(tx),
        },
    );
    Some((id, requested, rx))
}

async fn serve_conn(
    sock: TcpStream,
    router: Router,
    builder: Arc<hyper::server::conn::http1::Builder>,
    requested: Arc<AtomicBool>,
    mut close: oneshot::Receiver<()>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = sock.set_nodelay(true);
    let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        requested.store(true, Ordering::Relaxed);
        tower::ServiceExt::oneshot(router.clone(), req)
    });
    let conn = builder.serve_connection(TokioIo::new(FaultOnBareError::new(sock)), svc);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = &mut close => return,
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Answers a connection over the cap with a 503 fault and closes it.
async fn refuse(mut sock: TcpStream, max: usize) {
    let fault = Fault::new(
        FaultKind::Apps,
        503,
        "Too many open connections.",
        format!("The service holds its limit of {max} open connections, each with a request in progress or kept alive; retry shortly."),
    );
    let body = serde_json::to_vec(&fault).unwrap_or_default();
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{ERROR_MESSAGE_HEADER}: Too many open connections.\r\nretry-after: 1\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = sock.write_all(head.as_bytes()).await;
        let _ = sock.write_all(&body).await;
        let _ = sock.shutdown().await;
    })
    .await;
}

/// The fault for one of hyper's automatic answers to a malformed request.
fn bare_error_fault(status: u16) -> Fault {
    let (message, details) = match status {
        414 => (
            "The request URI is too long.",
            "Send a shorter path and query string.",
        ),
        431 => (
            "The request headers are too large.",
            "Send fewer or smaller headers.",
        ),
        _ => (
            "The request is malformed.",
            "The request line or a header is not valid HTTP/1.1.",
        ),
    };
    Fault::new(FaultKind::BadRequest, status, message, details)
}

/// When `buf` is a whole response head of a 4xx answer with an empty body
/// (what hyper writes for a request it could not parse), the same head
/// with a fault body; `None` for anything else.
fn with_fault_body(buf: &[u8]) -> Option<Vec<u8>> {
    let rest = buf.strip_prefix(b"HTTP/1.1 ")?;
    let status: u16 = std::str::from_utf8(rest.get(..3)?).ok()?.parse().ok()?;
    if !(400..500).contains(&status) {
        return None;
    }
    let text = std::str::from_utf8(buf).ok()?;
    let head = text.strip_suffix("\r\n\r\n")?;
    if head.contains("\r\n\r\n") {
        return None;
    }
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let headers: Vec<&str> = lines.collect();
    let empty = headers.iter().any(|h| {
        h.split_once(':').is_some_and(|(n, v)| {
            n.trim().eq_ignore_ascii_case("content-length") && v.trim() == "0"
        })
    });
    if !empty {
        return None;
    }
    let fault = bare_error_fault(status);
    let body = serde_json::to_vec(&fault).ok()?;
    let mut out = format!("{status_line}\r\n");
    for h in headers {
        let name = h.split_once(':').map_or(h, |(n, _)| n).trim();
        if !name.eq_ignore_ascii_case("content-length") && !name.eq_ignore_ascii_case("connection")
        {
            out.push_str(h);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!(
        "content-type: application/json\r\ncontent-length: {}\r\n{ERROR_MESSAGE_HEADER}: {}\r\nconnection: close\r\n\r\n",
        body.len(),
        fault.detail.message
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body);
    Some(bytes)
}

/// The connection's byte stream, with hyper's bodiless error answers
/// rewritten to carry a fault body (see [`with_fault_body`]). Everything
/// else passes through untouched.
struct FaultOnBareError {
    inner: TcpStream,
    /// A rewritten answer being written, how much of it is out, and the
    /// length of hyper's original to report once it is all written.
    pending: Option<(Vec<u8>, usize, usize)>,
}

impl FaultOnBareError {
    fn new(inner: TcpStream) -> Self {
        FaultOnBareError {
            inner,
            pending: None,
        }
    }
}

impl AsyncRead for FaultOnBareError {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for FaultOnBareError {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.pending.is_none() {
            match with_fault_body(buf) {
                Some(rewritten) => this.pending = Some((rewritten, 0, buf.len())),
                None => return Pin::new(&mut this.inner).poll_write(cx, buf),
            }
        }
        let Some((bytes, done, original)) = this.pending.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        while *done < bytes.len() {
            match Pin::new(&mut this.inner).poll_write(cx, &bytes[*done..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *done += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = *original;
        this.pending = None;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The router's outer layers: a URI longer than `max_uri` is refused with
/// a 414 fault, and any error answer without a JSON body (axum's own
/// refusals, such as the body limit's 413) gets the fault body.
pub fn outer_layers(router: Router, max_uri: usize) -> Router {
    router
        .layer(axum::middleware::map_response(fault_for_plain_errors))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| async move {
                let len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
                if len > max_uri {
                    return fault_response(Fault::new(
                        FaultKind::BadRequest,
                        414,
                        "The request URI is too long.",
                        format!("The path and query string may be at most {max_uri} bytes; this one is {len}."),
                    ));
                }
                next.run(req).await
            },
        ))
}

fn fault_response(fault: Fault) -> axum::response::Response {
    use axum::response::IntoResponse;
    let status = axum::http::StatusCode::from_u16(fault.detail.code)
        .unwrap_or(axum::http::StatusCode::BAD_REQUEST);
    let header = axum::http::HeaderValue::from_str(&fault.detail.message)
        .unwrap_or_else(|_| axum::http::HeaderValue::from_static("error"));
    let mut resp = (status, axum::Json(fault)).into_response();
    resp.headers_mut().insert(ERROR_MESSAGE_HEADER, header);
    resp
}

async fn fault_for_plain_errors(resp: axum::response::Response) -> axum::response::Response {
    let status = resp.status();
    let json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            // A fault the API already wrote, as JSON or (for
            // `Accept: text/xml`) as XML, is kept as it is.
            v.starts_with("application/json")
                || v.starts_with("text/xml")
                || v.starts_with("application/xml")
        });
    if status.as_u16() < 400 || json {
        return resp;
    }
    let (kind, message, details) = match status.as_u16() {
        413 => (
            FaultKind::BadRequest,
            "The request body is too large.",
            "A request body may be at most 1 MiB.".to_string(),
        ),
        401 | 403 => (FaultKind::Unauthorized, "Not authorized", String::new()),
        404 => (
            FaultKind::ItemNotFound,
            "Resource not found.",
            String::new(),
        ),
        500.. => (
            FaultKind::Apps,
            "An internal error occurred.",
            "The failure was logged by the service.".to_string(),
        ),
        _ => (
            FaultKind::BadRequest,
            "The request was refused.",
            status.canonical_reason().unwrap_or("").to_string(),
        ),
    };
    let mut out = fault_response(Fault::new(kind, status.as_u16(), message, details));
    for (name, value) in resp.headers() {
        if name != axum::http::header::CONTENT_TYPE
            && name != axum::http::header::CONTENT_LENGTH
            && !out.headers().contains_key(name)
        {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_error_heads_get_a_fault_body_and_nothing_else_changes() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Mon, 07 Dec 2026 02:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(with_fault_body(bare).unwrap()).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{head}"
        );
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        assert!(head.contains("date: Mon, 07 Dec 2026"), "{head}");
        let f: Fault = serde_json::from_str(body).unwrap();
        assert_eq!((f.kind, f.detail.code), (FaultKind::BadRequest, 431));
        for untouched in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
            b"{\"badRequestFault\":1}",
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n",
        ] {
            assert!(
                with_fault_body(untouched).is_none(),
                "{:?}",
                String::from_utf8_lossy(untouched)
            );
        }
    }
}
