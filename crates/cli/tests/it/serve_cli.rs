//! `behemoth serve` as a user runs it: it listens on an ephemeral port, answers, and on SIGTERM
//! finishes the stream in flight and exits 0; bad flags are one-line errors.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{behemoth, stderr};

fn http(addr: &str, request: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn serve_answers_and_exits_0_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_behemoth"))
        .args(["serve", "--port", "0", "-t", "1"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("a log line").unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    let log = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let start = Instant::now();
    while !http(
        &addr,
        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .contains("\"ok\"")
    {
        assert!(start.elapsed() < Duration::from_secs(20), "never ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = http(
        &addr,
        &post(
            "/v1/completions",
            r#"{"prompt":"Once upon a time","max_tokens":8,"temperature":0}"#,
        ),
    );
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("\"text_completion\""));

    // A stream in flight when SIGTERM arrives still ends with [DONE].
    let mut s = TcpStream::connect(&addr).unwrap();
    s.write_all(
        post(
            "/v1/completions",
            r#"{"prompt":"Once","max_tokens":200,"stream":true,"ignore_eos":true}"#,
        )
        .as_bytes(),
    )
    .unwrap();
    let mut first = [0u8; 64];
    let _ = s.read(&mut first).unwrap();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut rest = String::new();
    s.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("data: [DONE]"), "{rest}");
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    let log = log.join().unwrap().join("\n");
    assert!(log.contains("request done"), "{log}");
    assert!(log.contains("stopped"), "{log}");
}

#[test]
fn serve_flag_errors_are_one_line() {
    let o = behemoth(&["serve", "--api-key", "a", "--api-key-file", "b"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
    let o = behemoth(&["serve", "--kv-mem", "12Q"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown size unit"), "{}", stderr(&o));
    let o = behemoth(&["serve", "--port", "0", "--api-key-file", "/nonexistent/key"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot read the API key file"),
        "{}",
        stderr(&o)
    );
}
