//! Slow and abusive clients against the real `officed serve` binary: held
//! half-sent requests, the connection cap, and the HTTP layer's refusals,
//! each answered with a fault body. Also the body limit and invalid UTF-8
//! in form bodies through the router.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use testkit::officed::{Officed, OfficedOptions};

const CAP: usize = 16;
const HEADER_TIMEOUT_SECS: u64 = 2;

fn start() -> Officed {
    Officed::start(OfficedOptions {
        serve_args: vec![
            "--max-connections".into(),
            CAP.to_string(),
            "--header-timeout".into(),
            HEADER_TIMEOUT_SECS.to_string(),
        ],
        ..Default::default()
    })
    .expect("start officed")
}

/// Reads one response: (status, head, body).
fn response(s: &mut TcpStream) -> (u16, String, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).expect("read response");
        assert!(
            n > 0,
            "closed before a response: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).expect("read body");
        assert!(n > 0, "closed inside the body");
        buf.extend_from_slice(&chunk[..n]);
    }
    let status = head[9..12].parse().unwrap();
    let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
    (status, head, body)
}

fn connect(o: &Officed) -> TcpStream {
    let s = TcpStream::connect(&o.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn request(o: &Officed, raw: &[u8]) -> (u16, String, String) {
    let mut s = connect(o);
    s.write_all(raw).unwrap();
    response(&mut s)
}

fn fault(body: &str) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not a fault body ({e}): {body:?}"));
    let (kind, inner) = v.as_object().unwrap().iter().next().unwrap();
    assert!(kind.ends_with("Fault"), "{v}");
    inner.clone()
}

/// One client holds more half-sent requests than the cap; other clients'
/// requests keep being answered, and the held connections are closed by
/// the header-read timeout.
#[test]
fn half_sent_requests_over_the_cap_do_not_keep_other_clients_out() {
    let o = start();
    let mut held: Vec<TcpStream> = (0..CAP * 3)
        .map(|_| {
            let mut s = connect(&o);
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: officed\r\nX-Slow: ")
                .unwrap();
            s
        })
        .collect();
    let t0 = Instant::now();
    for i in 0..CAP * 2 {
        let started = Instant::now();
        let (status, _, body) = request(
            &o,
            b"GET /healthz HTTP/1.1\r\nHost: officed\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(status, 200, "request {i}: {body}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "request {i} took {:?}",
            started.elapsed()
        );
    }
    // Every held connection is closed by the server: made room for others,
    // or timed out reading its head.
    for (i, s) in held.iter_mut().enumerate() {
        let mut b = [0u8; 64];
        match s.read(&mut b) {
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => {}
            Err(e) => panic!(
                "held connection {i} still open after {:?}: {e}",
                t0.elapsed()
            ),
        }
    }
    assert!(t0.elapsed() < Duration::from_secs(HEADER_TIMEOUT_SECS + 5));
}

/// When every open connection has sent a request (kept alive), a new
/// connection is refused at once with a 503 fault, not left waiting.
#[test]
fn over_the_cap_with_every_connection_in_use_is_a_clear_refusal() {
    let o = start();
    let kept: Vec<TcpStream> = (0..CAP)
        .map(|_| {
            let mut s = connect(&o);
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: officed\r\n\r\n")
                .unwrap();
            assert_eq!(response(&mut s).0, 200);
            s
        })
        .collect();
    let (status, head, body) = request(&o, b"GET /healthz HTTP/1.1\r\nHost: officed\r\n\r\n");
    assert_eq!(status, 503, "{head}{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    assert_eq!(fault(&body)["message"], "Too many open connections.");
    drop(kept);
    // Room again once they close.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _, _) = request(
            &o,
            b"GET /healthz HTTP/1.1\r\nHost: officed\r\nConnection: close\r\n\r\n",
        );
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "still refused");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// hyper's own refusals (400, 431) and the URI limit (414) carry the
/// Cloud Office fault body like every other error answer.
#[test]
fn http_layer_refusals_carry_fault_bodies() {
    let o = start();
    let long_uri = format!(
        "GET /v1/{} HTTP/1.1\r\nHost: officed\r\n\r\n",
        "a".repeat(10_000)
    );
    let big_headers = format!(
        "GET /healthz HTTP/1.1\r\nHost: officed\r\n{}\r\n",
        (0..80)
            .map(|i| format!("X-Filler-{i}: {}\r\n", "b".repeat(1000)))
            .collect::<String>()
    );
    for (name, raw, want) in [
        ("bad request line", b"NOT HTTP AT ALL\r\n\r\n".to_vec(), 400),
        (
            "bad header",
            b"GET / HTTP/1.1\r\nHost officed\r\n\r\n".to_vec(),
            400,
        ),
        ("long URI", long_uri.into_bytes(), 414),
        ("large headers", big_headers.into_bytes(), 431),
        (
            "unknown path",
            b"GET /nope HTTP/1.1\r\nHost: officed\r\n\r\n".to_vec(),
            404,
        ),
    ] {
        let (status, head, body) = request(&o, &raw);
        assert_eq!(status, want, "{name}: {head}{body}");
        let f = fault(&body);
        assert_eq!(f["code"], want, "{name}: {body}");
        assert!(!f["message"].as_str().unwrap().is_empty(), "{name}");
        assert!(
            head.to_ascii_lowercase().contains("x-error-message:"),
            "{name}: {head}"
        );
    }
}

/// A body over the limit is a 413 fault; invalid UTF-8 in a form value is a
/// 400 fault, and nothing is stored.
#[tokio::test]
async fn oversized_bodies_and_invalid_utf8_forms_are_faults() {
    let env = common::Env::sqlite().await;
    let path = "/customers/me/domains/example.com/ex/mailboxes/utf";
    let r = env
        .form(
            "POST",
            path,
            &format!("displayName={}&password=Secret-123456", "x".repeat(2 << 20)),
        )
        .await;
    assert_eq!(r.status.as_u16(), 413, "{}", r.json);
    assert_eq!(r.message(), "The request body is too large.");
    let r = env
        .form("POST", path, "displayName=%FF%FE&password=Secret-123456")
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.json);
    assert_eq!(r.fault_kind(), "badRequestFault");
    assert!(
        r.json
            .to_string()
            .contains("The value of 'displayName' is not UTF-8"),
        "{}",
        r.json
    );
    let r = env.req("GET", path, None).await;
    assert_eq!(r.status.as_u16(), 404, "nothing was stored: {}", r.json);
    env.finish().await;
}
