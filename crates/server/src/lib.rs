//! `server` is the OpenAI-compatible HTTP front of the engine, and the only crate that knows
//! HTTP, OpenAI's JSON and server-sent events. It turns requests into `engine::Request`s, hands
//! them to the engine thread through `EngineHandle::submit`, and turns the events that come back
//! into JSON or SSE chunks. Dropping a response (the client went away) drops the request's event
//! receiver, which cancels it in the engine and frees its KV blocks.
//!
//! - `lib.rs`: the router, shared state, API-key and request-metrics middleware, `serve`.
//! - `routes/`: one file per endpoint (`chat_completions`, `completions`, `models`, `health`,
//!   `metrics`).
//! - `generation.rs`: request parameters → engine requests, collecting answers.
//! - `sse.rs`: the streaming body (chat and completion chunks, `data: [DONE]`).
//! - `openai.rs`: wire types. `error.rs`: `ApiError` → OpenAI error JSON.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod error;
mod generation;
pub mod openai;
mod routes;
mod sse;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use engine::EngineHandle;
use tower_http::catch_panic::CatchPanicLayer;

pub use error::ApiError;

/// How the server presents itself.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The model id clients name in `model` (and `/v1/models` lists).
    pub model_name: String,
    /// Required as `Authorization: Bearer KEY` on `/v1/*` when set.
    pub api_key: Option<String>,
}

/// The engine, once loaded: empty while the model loads (`/health` says `loading`).
pub type EngineSlot = Arc<OnceLock<EngineHandle>>;

/// Counters kept by the HTTP layer.
#[derive(Debug, Default)]
struct HttpMetrics {
    /// Responses by status code.
    by_status: Mutex<BTreeMap<u16, u64>>,
}

/// Shared by every handler.
#[derive(Clone)]
struct AppState {
    config: Arc<ServerConfig>,
    engine: EngineSlot,
    http: Arc<HttpMetrics>,
    created: u64,
    next_id: Arc<AtomicU64>,
    /// The chat template, compiled on first use.
    chat_template: Arc<OnceLock<Result<tokenizer::ChatTemplate, String>>>,
}

impl AppState {
    /// The engine, or 503 while loading.
    fn engine(&self) -> Result<&EngineHandle, ApiError> {
        self.engine
            .get()
            .ok_or_else(|| ApiError::Unavailable("The model is still loading".into()))
    }

    /// Checks the `model` a request names.
    fn check_model(&self, model: Option<&str>) -> Result<(), ApiError> {
        match model {
            Some(m) if !m.is_empty() && m != self.config.model_name => {
                Err(ApiError::ModelNotFound(m.to_string()))
            }
            _ => Ok(()),
        }
    }

    /// A fresh request id with `prefix` (`chatcmpl`, `cmpl`).
    fn request_id(&self, prefix: &str) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}-{:x}{n:06x}", self.created)
    }
}

/// Unix seconds now.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The application: every route, the fallbacks, authentication, metrics and panic catching.
pub fn router(config: ServerConfig, engine: EngineSlot) -> Router {
    let state = AppState {
        config: Arc::new(config),
        engine,
        http: Arc::new(HttpMetrics::default()),
        created: unix_now(),
        next_id: Arc::new(AtomicU64::new(1)),
        chat_template: Arc::new(OnceLock::new()),
    };
    let v1 = Router::new()
        .route(
            "/v1/chat/completions",
            post(routes::chat_completions::handle),
        )
        .route("/v1/completions", post(routes::completions::handle))
        .route("/v1/models", get(routes::models::list))
        .route("/v1/models/{id}", get(routes::models::get_one))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .merge(v1)
        .route("/health", get(routes::health::handle))
        .route("/metrics", get(routes::metrics::handle))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), count_status))
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                tracing::error!("a request handler panicked");
                ApiError::Internal("internal error".into()).into_response()
            },
        ))
        .with_state(state)
}

/// Serves `router(config, engine)` on `listener` until `shutdown` resolves, then lets in-flight
/// responses (streams included) finish before returning.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: ServerConfig,
    engine: EngineSlot,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(config, engine))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn not_found(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("{method} {}", uri.path()))
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Compares in time that depends only on the lengths, not on where the bytes differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= u64::from(x ^ y);
    }
    diff == 0
}

/// Requires the API key on `/v1/*` routes when one is configured.
async fn authenticate(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
    next: Next,
) -> Response {
    if let Some(key) = &state.config.api_key {
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !constant_time_eq(given.trim().as_bytes(), key.as_bytes()) {
            return ApiError::Unauthorized.into_response();
        }
    }
    next.run(request).await
}

/// Counts responses by status for `/metrics`.
async fn count_status(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let code = response.status().as_u16();
    if code >= 400 {
        tracing::warn!(
            %method,
            path,
            status = code,
            latency_ms = started.elapsed().as_secs_f64() * 1e3,
            "request refused"
        );
    }
    let mut map = state
        .http
        .by_status
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    *map.entry(code).or_insert(0) += 1;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }
}
