//! Fixture: a real headless Chromium driven through chromedriver's WebDriver
//! HTTP protocol (W3C), with plain JSON calls.
//!
//! [`Browser::start`] launches `chromedriver` (from `DIRSYNC_TEST_CHROMEDRIVER`)
//! on a free loopback port, waits for its `/status`, and opens a session on
//! Chromium (from `DIRSYNC_TEST_CHROMIUM`) with a fresh profile directory and
//! every background network feature off, so the browser talks only to the
//! server under test. Dropping the [`Browser`] ends the session and kills
//! chromedriver (which takes Chromium with it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

/// The W3C element reference key.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session on headless Chromium.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

/// An element found on the current page.
#[derive(Debug, Clone)]
pub struct Element {
    id: String,
}

impl Browser {
    /// Starts chromedriver + Chromium, or `None` outside CI when they are not configured.
    pub async fn start() -> Option<Result<Browser>> {
        let driver = crate::service_env("DIRSYNC_TEST_CHROMEDRIVER", "chromedriver")?;
        let chromium = crate::service_env("DIRSYNC_TEST_CHROMIUM", "Chromium")?;
        Some(Self::start_with(&driver, &chromium).await)
    }

    /// Starts with explicit binaries.
    pub async fn start_with(driver_bin: &str, chromium_bin: &str) -> Result<Browser> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {driver_bin}"))?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()?;
        let profile = tempfile::tempdir()?;
        let mut b = Browser {
            driver,
            base,
            session: String::new(),
            http,
            _profile: profile,
        };

        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = b.http.get(format!("{}/status", b.base)).send().await {
                if let Ok(v) = r.json::<Value>().await {
                    if v["value"]["ready"].as_bool() == Some(true) {
                        break;
                    }
                }
            }
            if Instant::now() > deadline {
                bail!("chromedriver did not become ready on port {port} within 30s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({
            "capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium_bin,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--disable-dev-shm-usage", "--window-size=1280,1000",
                        format!("--user-data-dir={}", b._profile.path().display()),
                    ]
                }
            }}
        });
        let v = b
            .raw("POST", "/session", Some(caps))
            .await
            .context("creating a Chromium session")?;
        b.session = v["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no sessionId in {v}"))?
            .to_string();
        Ok(b)
    }

    async fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let url = format!("{}{}", self.base, path);
        let req = match method {
            "GET" => self.http.get(&url),
            "DELETE" => self.http.delete(&url),
            _ => self.http.post(&url).json(&body.unwrap_or(json!({}))),
        };
        let resp = req
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = resp.status();
        let v: Value = resp
            .json()
            .await
            .with_context(|| format!("{method} {path}: body"))?;
        if !status.is_success() {
            bail!(
                "WebDriver {method} {path} failed ({status}): {}",
                v["value"]
            );
        }
        Ok(v["value"].clone())
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        self.raw(method, &format!("/session/{}{}", self.session, path), body)
            .await
    }

    /// Navigates and waits for the page load.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.cmd("POST", "/url", Some(json!({ "url": url })))
            .await
            .map(|_| ())
    }

    pub async fn current_url(&self) -> Result<String> {
        Ok(self
            .cmd("GET", "/url", None)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// The page's HTML as the browser holds it now.
    pub async fn source(&self) -> Result<String> {
        Ok(self
            .cmd("GET", "/source", None)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// The visible text of the whole page.
    pub async fn body_text(&self) -> Result<String> {
        let body = self.find("body").await?;
        self.text(&body).await
    }

    /// Finds the first element matching a CSS selector.
    pub async fn find(&self, css: &str) -> Result<Element> {
        let v = self
            .cmd(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await
            .with_context(|| format!("finding {css}"))?;
        let id = v[ELEMENT_KEY]
            .as_str()
            .ok_or_else(|| anyhow!("no element for {css}: {v}"))?;
        Ok(Element { id: id.to_string() })
    }

    /// Finds every element matching a CSS selector.
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        let v = self
            .cmd(
                "POST",
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str())
                    .map(|id| Element { id: id.to_string() })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Finds a link by its exact visible text.
    pub async fn find_link(&self, text: &str) -> Result<Element> {
        let v = self
            .cmd(
                "POST",
                "/element",
                Some(json!({"using": "link text", "value": text})),
            )
            .await
            .with_context(|| format!("finding link {text:?}"))?;
        let id = v[ELEMENT_KEY]
            .as_str()
            .ok_or_else(|| anyhow!("no link {text:?}"))?;
        Ok(Element { id: id.to_string() })
    }

    pub async fn click(&self, e: &Element) -> Result<()> {
        self.cmd("POST", &format!("/element/{}/click", e.id), None)
            .await
            .map(|_| ())
    }

    pub async fn text(&self, e: &Element) -> Result<String> {
        Ok(self
            .cmd("GET", &format!("/element/{}/text", e.id), None)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    pub async fn attribute(&self, e: &Element, name: &str) -> Result<Option<String>> {
        Ok(self
            .cmd("GET", &format!("/element/{}/attribute/{name}", e.id), None)
            .await?
            .as_str()
            .map(str::to_string))
    }

    /// Runs a script in the page (`return ...;`) and returns its value.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Waits until the page's visible text contains `needle`, reloading never.
    pub async fn wait_for_text(&self, needle: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.body_text().await;
            if seen.as_ref().map(|t| t.contains(needle)).unwrap_or(false) {
                return Ok(());
            }
            if Instant::now() > deadline {
                let url = self.current_url().await.unwrap_or_default();
                bail!(
                    "the page {url} did not show {needle:?} within {timeout:?}; it shows: {seen:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Saves a PNG screenshot of the viewport to `path` (directories created).
    pub async fn screenshot(&self, path: &Path) -> Result<PathBuf> {
        let v = self.cmd("GET", "/screenshot", None).await?;
        let png = decode_base64(v.as_str().unwrap_or_default())?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(path.to_path_buf())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Best effort: chromedriver closes Chromium when the session ends.
            let url = format!("{}/session/{}", self.base, self.session);
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(async {
                        let _ = reqwest::Client::new()
                            .delete(url)
                            .timeout(Duration::from_secs(10))
                            .send()
                            .await;
                    });
                }
            })
            .join();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Standard base64 (screenshots), without pulling a dependency into testkit.
fn decode_base64(s: &str) -> Result<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let clean: Vec<u8> = s
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= val(*c).ok_or_else(|| anyhow!("bad base64"))? << (18 - 6 * i);
        }
        let bytes = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_roundtrip() {
        assert_eq!(super::decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(super::decode_base64("aGVsbG8hIQ==").unwrap(), b"hello!!");
        assert_eq!(super::decode_base64("YWJj").unwrap(), b"abc");
    }
}
