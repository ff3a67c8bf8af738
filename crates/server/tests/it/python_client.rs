//! The official `openai` Python client against the server: streaming chat, and completions with
//! log-probabilities (scripts/openai_client_test.py). Skips with a printed reason where Python
//! or the `openai` package is missing, so CI does not depend on Python.

use std::process::Command;

use engine::EngineConfig;

use crate::harness::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_openai_python_client() {
    let probe = Command::new("python3")
        .args(["-c", "import openai"])
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        _ => {
            println!(
                "skipped: python3 with the `openai` package is not available (pip install openai)"
            );
            return;
        }
    }
    let s = TestServer::start_with_key(EngineConfig::default(), Some("test-key")).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/openai_client_test.py"
    );
    let base = format!("http://{}/v1", s.addr);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args([script, "--base-url", &base, "--api-key", "test-key"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    println!("{text}");
    assert!(out.status.success(), "{text}");
    assert!(text.contains("ok"), "{text}");
    s.stop().await;
}
