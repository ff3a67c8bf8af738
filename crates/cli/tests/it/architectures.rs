//! `behemoth info`, `run`, `chat` and `convert` on every architecture's tiny checkpoint in
//! `fixtures/hf/` (Llama 3, Mixtral, Qwen3, Qwen3-MoE, Llama 4), as a user would run them.

use std::io::Write;
use std::process::{Command, Stdio};

use super::{behemoth, fixture, stderr, stdout, temp_path};

const ARCHITECTURES: [(&str, &str); 5] = [
    ("llama", "architecture:  llama"),
    ("mixtral", "experts:       4 (top-2"),
    ("qwen3", "qk_norm:       WeightedBeforeRope"),
    ("qwen3moe", "MoE in 2 of 3 layers"),
    ("llama4", "NoPE layers [3, 7]"),
];

#[test]
fn info_run_chat_and_convert_on_every_architecture() {
    for (arch, info_needle) in ARCHITECTURES {
        let dir = fixture(&format!("hf/{arch}"));
        let dir = dir.to_str().unwrap();

        let o = behemoth(&["info", dir]);
        assert!(o.status.success(), "{arch} info: {}", stderr(&o));
        assert!(
            stdout(&o).contains(info_needle),
            "{arch} info:\n{}",
            stdout(&o)
        );

        let o = behemoth(&[
            "run",
            "-m",
            dir,
            "--temp",
            "0",
            "-n",
            "12",
            "Once upon a time",
        ]);
        assert!(o.status.success(), "{arch} run: {}", stderr(&o));
        assert!(
            stdout(&o).starts_with("Once upon a time"),
            "{arch} run: {}",
            stdout(&o)
        );
        assert!(
            stderr(&o).contains("generation: 11 tokens"),
            "{arch} run: {}",
            stderr(&o)
        );

        let mut child = Command::new(env!("CARGO_BIN_EXE_behemoth"))
            .args(["chat", "-m", dir, "--temp", "0", "-n", "8"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child
            .stdin
            .take()
            .unwrap()
            .write_all(b"Hello there\nAnd again\n");
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{arch} chat: {}", stderr(&o));
        assert!(
            !stderr(&o).contains("panicked"),
            "{arch} chat: {}",
            stderr(&o)
        );

        // Converted to GGUF, greedy text is the same as from the safetensors folder.
        let gguf = temp_path(&format!("{arch}.gguf"));
        let o = behemoth(&["convert", dir, gguf.to_str().unwrap(), "--type", "f32"]);
        assert!(o.status.success(), "{arch} convert: {}", stderr(&o));
        let from_gguf = behemoth(&[
            "run",
            "-m",
            gguf.to_str().unwrap(),
            "--temp",
            "0",
            "-n",
            "12",
            "Once upon a time",
        ]);
        let from_hf = behemoth(&[
            "run",
            "-m",
            dir,
            "--temp",
            "0",
            "-n",
            "12",
            "Once upon a time",
        ]);
        std::fs::remove_file(&gguf).ok();
        assert_eq!(
            stdout(&from_gguf),
            stdout(&from_hf),
            "{arch}: GGUF and safetensors disagree"
        );
    }
}

#[test]
fn convert_errors_are_one_line() {
    let o = behemoth(&["convert", "/no/such/folder", "/tmp/x.gguf"]);
    assert!(!o.status.success());
    assert_eq!(stderr(&o).trim_end().lines().count(), 1, "{}", stderr(&o));
    let o = behemoth(&[
        "convert",
        fixture("hf/llama").to_str().unwrap(),
        "/tmp/x.gguf",
        "--type",
        "q3",
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("q3"),
        "{}",
        stderr(&o)
    );
}
