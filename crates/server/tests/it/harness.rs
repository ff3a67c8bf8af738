//! The test harness: start a server with an engine configuration, send requests and read
//! responses (plain, chunked, SSE), read `/metrics`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use engine::{Engine, EngineConfig, EngineHandle, LoadOptions, LoadedModel};
use serde_json::Value;
use server::{EngineSlot, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub(crate) fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/stories260K/stories260K.gguf")
}

pub(crate) fn load() -> LoadedModel {
    let opts = LoadOptions {
        threads: 1,
        ..LoadOptions::default()
    };
    LoadedModel::open(&fixture(), &opts).expect("fixture model loads")
}

pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) engine: EngineHandle,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub(crate) async fn start(config: EngineConfig) -> Self {
        Self::start_with_key(config, None).await
    }

    pub(crate) async fn start_with_key(config: EngineConfig, api_key: Option<&str>) -> Self {
        let engine = Engine::start(load(), config).expect("engine starts");
        let slot = EngineSlot::default();
        let _ = slot.set(engine.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let config = ServerConfig {
            model_name: "stories260K".into(),
            api_key: api_key.map(str::to_string),
        };
        let task = tokio::spawn(server::serve(listener, config, slot, async move {
            let _ = rx.await;
        }));
        Self {
            addr,
            engine,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Triggers graceful shutdown and waits for the server and the engine to stop.
    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || engine.join())
            .await
            .unwrap();
    }

    pub(crate) fn trigger_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    pub(crate) async fn wait_stopped(mut self) -> std::io::Result<()> {
        let r = match self.task.take() {
            Some(t) => t.await.unwrap(),
            None => Ok(()),
        };
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || engine.join())
            .await
            .unwrap();
        r
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Response {
        request(self.addr, "POST", path, &[], Some(&body.to_string())).await
    }

    pub(crate) async fn get(&self, path: &str) -> Response {
        request(self.addr, "GET", path, &[], None).await
    }

    /// One metric's value from `/metrics`.
    pub(crate) async fn metric(&self, name: &str) -> f64 {
        let text = self.get("/metrics").await.text();
        metric_value(&text, name).unwrap_or_else(|| panic!("metric {name} missing:\n{text}"))
    }

    /// Polls `/metrics` until `name` equals `want` or `timeout` passes; returns the last value.
    pub(crate) async fn wait_metric(&self, name: &str, want: f64, timeout: Duration) -> f64 {
        self.wait_metric_until(name, |v| v == want, timeout).await
    }

    /// Polls `/metrics` until `name` satisfies `done` or `timeout` passes; returns the last
    /// value. Gauges are published once per engine step, so a client event can arrive before
    /// the step that produced it has updated them.
    pub(crate) async fn wait_metric_until(
        &self,
        name: &str,
        done: impl Fn(f64) -> bool,
        timeout: Duration,
    ) -> f64 {
        let start = Instant::now();
        loop {
            let v = self.metric(name).await;
            if done(v) || start.elapsed() > timeout {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

pub(crate) fn metric_value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `data:` payloads of an SSE body, `[DONE]` included.
    pub(crate) fn sse(&self) -> Vec<String> {
        self.text()
            .split("\n\n")
            .filter_map(|e| e.trim().strip_prefix("data: ").map(str::to_string))
            .collect()
    }

    /// The JSON payloads of an SSE body, checking that it ends with exactly one `[DONE]`.
    pub(crate) fn sse_json(&self) -> Vec<Value> {
        let events = self.sse();
        assert_eq!(
            events.last().map(String::as_str),
            Some("[DONE]"),
            "{}",
            self.text()
        );
        assert_eq!(events.iter().filter(|e| *e == "[DONE]").count(), 1);
        events[..events.len() - 1]
            .iter()
            .map(|e| serde_json::from_str(e).unwrap_or_else(|_| panic!("bad chunk {e}")))
            .collect()
    }
}

fn raw_request(method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> String {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    req
}

pub(crate) async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Response {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(raw_request(method, path, headers, body).as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut buf))
        .await
        .expect("response within 60 s")
        .expect("connection not dropped");
    parse(&buf)
}

/// Opens a streaming request and returns the stream once the first `data:` chunk arrived.
pub(crate) async fn open_stream(addr: SocketAddr, path: &str, body: &Value) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(raw_request("POST", path, &[], Some(&body.to_string())).as_bytes())
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
            .await
            .expect("first chunk within 30 s")
            .unwrap();
        assert!(n > 0, "closed before the first chunk");
        seen.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&seen).contains("data: ") {
            return (stream, String::from_utf8_lossy(&seen).into_owned());
        }
    }
}

fn parse(buf: &[u8]) -> Response {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(buf)));
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let raw = &buf[split + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked { dechunk(raw) } else { raw.to_vec() };
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            panic!("truncated chunked body");
        };
        let size_text = String::from_utf8_lossy(&raw[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("chunk size");
        raw = &raw[eol + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}
