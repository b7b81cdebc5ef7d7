//! A real TCP proxy between the API client and officed that injects faults:
//! dropped connections, connection resets, 500 answers, throttle answers,
//! and answers lost after the request reached the server.
//!
//! Each HTTP request is handled on its own upstream connection (the proxy
//! forces `Connection: close`), so faults are decided per request.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    Forward,
    /// Close the client connection without answering.
    Drop,
    /// Reset the client connection (RST).
    Reset,
    /// Answer 500 without forwarding.
    ServerError,
    /// Answer 403 "Exceeded request limits" (Cloud Office throttle) with
    /// `Retry-After: 1`, without forwarding: the client holds that kind of
    /// request for a second. (officed's own throttle sends no Retry-After
    /// and is waited out to its next minute: faults.rs,
    /// `a_spent_minute_is_waited_out_not_failed`.)
    Throttle,
    /// Forward, then drop the answer: the server did the work, the client never hears.
    ForwardThenDrop,
}

pub type Schedule = Arc<dyn Fn(u64, &str) -> Fault + Send + Sync>;

pub struct Proxy {
    pub base_url: String,
    pub requests: Arc<AtomicU64>,
    pub faults: Arc<Mutex<Vec<(u64, Fault)>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

async fn read_request(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = s.read(&mut tmp).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&tmp[..n]);
            }
            return Some(buf);
        }
        let n = s.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
}

fn force_close(req: &[u8]) -> Vec<u8> {
    let end = req
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(req.len());
    let head = String::from_utf8_lossy(&req[..end]);
    let mut out = String::new();
    for line in head.split("\r\n") {
        if line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut v = out.into_bytes();
    v.extend_from_slice(&req[(end + 4).min(req.len())..]);
    v
}

/// Starts a proxy in front of `upstream` (`127.0.0.1:PORT`), keeping the
/// `/v1` prefix in `base_url`.
pub async fn start(upstream: &str, schedule: Schedule) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicU64::new(0));
    let faults = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (r2, f2, s2, up) = (
        requests.clone(),
        faults.clone(),
        stop.clone(),
        upstream.to_string(),
    );
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                break;
            };
            if s2.load(Ordering::Relaxed) {
                break;
            }
            let (r3, f3, up, schedule) = (r2.clone(), f2.clone(), up.clone(), schedule.clone());
            tokio::spawn(async move {
                // One request per client connection: we always close after answering.
                let Some(req) = read_request(&mut client).await else {
                    return;
                };
                let n = r3.fetch_add(1, Ordering::Relaxed);
                let first_line = String::from_utf8_lossy(
                    &req[..req.iter().position(|b| *b == b'\r').unwrap_or(0)],
                )
                .to_string();
                let fault = schedule(n, &first_line);
                if fault != Fault::Forward {
                    f3.lock().unwrap().push((n, fault));
                }
                match fault {
                    Fault::Drop => drop(client),
                    Fault::Reset => {
                        // Linger 0 sends RST at once (no blocking).
                        #[allow(deprecated)]
                        let _ = client.set_linger(Some(std::time::Duration::from_secs(0)));
                        drop(client);
                    }
                    Fault::ServerError => {
                        let _ = client
                            .write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                    }
                    Fault::Throttle => {
                        let body = br#"{"unauthorizedFault":{"message":"Exceeded request limits","details":"injected by the test proxy","code":403}}"#;
                        let head = format!(
                            "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\nx-error-message: Exceeded request limits\r\nretry-after: 1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = client.write_all(head.as_bytes()).await;
                        let _ = client.write_all(body).await;
                    }
                    Fault::Forward | Fault::ForwardThenDrop => {
                        let Ok(mut server) = TcpStream::connect(&up).await else {
                            return;
                        };
                        if server.write_all(&force_close(&req)).await.is_err() {
                            return;
                        }
                        let mut resp = Vec::new();
                        let _ = server.read_to_end(&mut resp).await;
                        if fault == Fault::Forward {
                            let _ = client.write_all(&resp).await;
                        }
                    }
                }
            });
        }
    });
    Proxy {
        base_url: format!("http://{addr}/v1"),
        requests,
        faults,
        stop,
    }
}
