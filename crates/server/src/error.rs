//! `ApiError`: every way a request can fail, mapped in one `IntoResponse` impl to OpenAI's
//! error JSON (`{"error": {"message", "type", "param", "code"}}`) with the right status.
//! Messages say what the client should change; internals are not leaked.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::SubmitError;

/// A failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// Malformed JSON or a parameter out of range (400).
    BadRequest {
        /// What is wrong.
        message: String,
        /// The parameter at fault, when known.
        param: Option<&'static str>,
    },
    /// The body could not be read, e.g. larger than the limit (413).
    Body {
        /// The status axum chose (413 or 400).
        status: u16,
        /// What went wrong.
        message: String,
    },
    /// Missing or wrong API key (401).
    Unauthorized,
    /// No such route (404).
    NotFound(String),
    /// The requested model is not served (404).
    ModelNotFound(String),
    /// The method is not allowed on this route (405).
    MethodNotAllowed,
    /// The queue is full (503, retry later).
    QueueFull,
    /// The model is still loading or the server is shutting down (503).
    Unavailable(String),
    /// The engine failed (500).
    Internal(String),
}

impl ApiError {
    /// A 400 naming `param`.
    pub fn bad_param(param: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            param: Some(param),
        }
    }

    /// A 400 without a parameter.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            param: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Body { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST)
            }
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) | ApiError::ModelNotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::QueueFull | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The OpenAI error object (the value of `"error"`).
    pub fn body(&self) -> serde_json::Value {
        let (message, kind, param, code) = match self {
            ApiError::BadRequest { message, param } => (
                message.clone(),
                "invalid_request_error",
                param.map(str::to_string),
                None,
            ),
            ApiError::Body { message, .. } => {
                (message.clone(), "invalid_request_error", None, None)
            }
            ApiError::Unauthorized => (
                "Incorrect or missing API key. Send it as 'Authorization: Bearer KEY'.".into(),
                "invalid_request_error",
                None,
                Some("invalid_api_key"),
            ),
            ApiError::NotFound(path) => (
                format!("Unknown route: {path}"),
                "invalid_request_error",
                None,
                Some("not_found"),
            ),
            ApiError::ModelNotFound(model) => (
                format!("The model '{model}' does not exist"),
                "invalid_request_error",
                Some("model".to_string()),
                Some("model_not_found"),
            ),
            ApiError::MethodNotAllowed => (
                "Method not allowed on this route".into(),
                "invalid_request_error",
                None,
                Some("method_not_allowed"),
            ),
            ApiError::QueueFull => (
                "The server is busy: too many requests are waiting. Retry later.".into(),
                "server_overloaded",
                None,
                Some("queue_full"),
            ),
            ApiError::Unavailable(why) => (why.clone(), "unavailable_error", None, None),
            ApiError::Internal(why) => (why.clone(), "server_error", None, None),
        };
        serde_json::json!({
            "message": message,
            "type": kind,
            "param": param,
            "code": code,
        })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = self.body();
        write!(f, "{} {}", self.status().as_u16(), body["message"])
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status(),
            Json(serde_json::json!({ "error": self.body() })),
        )
            .into_response();
        if matches!(self, ApiError::QueueFull) {
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Invalid(message) => ApiError::bad_request(message),
            SubmitError::QueueFull => ApiError::QueueFull,
            SubmitError::Unavailable => ApiError::Unavailable("The server is shutting down".into()),
        }
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(e: axum::extract::rejection::BytesRejection) -> Self {
        ApiError::Body {
            status: e.status().as_u16(),
            message: format!("Cannot read the request body: {}", e.body_text()),
        }
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        ApiError::bad_request(format!("Malformed request body: {e}"))
    }
}
