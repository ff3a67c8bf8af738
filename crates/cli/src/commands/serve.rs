//! `behemoth serve`: the OpenAI-compatible server. Binds the address first (so `/health`
//! answers `loading` at once), loads the model on a blocking thread, starts the engine thread,
//! and serves until SIGINT or SIGTERM; then it stops accepting, lets in-flight responses finish,
//! stops the engine and exits 0.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use engine::{Engine, EngineConfig};
use server::{EngineSlot, ServerConfig};

use crate::model_arg::ModelArgs;

/// Flags of `behemoth serve`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0: any free port, printed at start).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Require `Authorization: Bearer KEY` on /v1 routes.
    #[arg(long, value_name = "KEY", conflicts_with = "api_key_file")]
    api_key: Option<String>,
    /// Read the API key from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    api_key_file: Option<PathBuf>,
    /// Most sequences running at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    max_seqs: u32,
    /// Context length per sequence (default: the model's, at most 8192; maximum: the model's).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    ctx: Option<u32>,
    /// KV-cache memory, e.g. 512M or 2G (default: max-seqs full contexts, at most 4G).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    kv_mem: Option<usize>,
    /// Most requests waiting to start; more get 503.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    max_queue: u32,
    /// Most tokens per forward pass (prefill chunks share it with decodes).
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=65536))]
    max_batch_tokens: u32,
    /// Model id clients use (default: the file name without extension).
    #[arg(long)]
    model_name: Option<String>,
}

/// Parses `512M`, `2G`, `1GiB`, `100000` (bytes).
fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let digits = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let value: f64 = num.parse().map_err(|_| format!("'{s}' is not a size"))?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("unknown size unit in '{s}' (use K, M or G)")),
    };
    let bytes = value * scale;
    if !(1.0..=1e15).contains(&bytes) {
        return Err(format!("size '{s}' is out of range"));
    }
    Ok(bytes as usize)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: no new connections; finishing requests in flight");
}

pub(crate) fn run(args: Args) -> Result<()> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let api_key = match (&args.api_key, &args.api_key_file) {
        (Some(k), _) => Some(k.clone()),
        (None, Some(f)) => {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read the API key file '{}'", f.display()))?;
            Some(text.lines().next().unwrap_or("").trim().to_string())
        }
        (None, None) => None,
    };
    if api_key.as_deref() == Some("") {
        bail!("the API key is empty");
    }
    let model_name = args
        .model_name
        .clone()
        .unwrap_or_else(|| match &args.model.model {
            Some(p) => p
                .file_stem()
                .map_or_else(|| "model".to_string(), |s| s.to_string_lossy().into_owned()),
            None => "stories260K".to_string(),
        });
    let engine_config = EngineConfig {
        max_seqs: args.max_seqs as usize,
        ctx: args.ctx.map(|c| c as usize),
        kv_mem_bytes: args.kv_mem,
        max_queue: args.max_queue as usize,
        max_batch_tokens: args.max_batch_tokens as usize,
        ..EngineConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
        let addr = listener.local_addr()?;
        tracing::info!(model = model_name, "listening on http://{addr}");
        let slot = EngineSlot::default();
        let failure = Arc::new(Mutex::new(None::<String>));
        let (fail_tx, fail_rx) = tokio::sync::oneshot::channel::<()>();
        let loader = {
            let (slot, failure, model) = (slot.clone(), failure.clone(), args.model.clone());
            tokio::task::spawn_blocking(move || {
                let loaded = model
                    .load()
                    .and_then(|lm| Engine::start(lm, engine_config).map_err(anyhow::Error::from));
                match loaded {
                    Ok(handle) => {
                        let info = handle.info().clone();
                        tracing::info!(origin = info.origin, ctx = info.ctx, "model loaded; ready");
                        let _ = slot.set(handle);
                    }
                    Err(e) => {
                        if let Ok(mut f) = failure.lock() {
                            *f = Some(format!("{e:#}"));
                        }
                        let _ = fail_tx.send(());
                    }
                }
            })
        };
        let shutdown = async move {
            tokio::select! {
                _ = shutdown_signal() => {},
                Ok(()) = fail_rx => {},
            }
        };
        let config = ServerConfig {
            model_name: model_name.clone(),
            api_key,
        };
        server::serve(listener, config, slot.clone(), shutdown).await?;
        let _ = loader.await;
        if let Some(handle) = slot.get().cloned() {
            tokio::task::spawn_blocking(move || handle.join()).await?;
        }
        let failed = failure.lock().ok().and_then(|f| f.clone());
        if let Some(why) = failed {
            bail!("cannot load the model: {why}");
        }
        tracing::info!("stopped");
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("1.5KiB"), Ok(1536));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("0").is_err());
    }
}
