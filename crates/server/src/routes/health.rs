//! `GET /health`: 200 `{"status":"ok"}` once the model is loaded, 503 `{"status":"loading"}`
//! before. Needs no API key, so that load balancers can probe it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::AppState;

pub(crate) async fn handle(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    match state.engine.get() {
        Some(e) if e.is_running() => (StatusCode::OK, Json(serde_json::json!({"status": "ok"}))),
        Some(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "stopped"})),
        ),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "loading"})),
        ),
    }
}
