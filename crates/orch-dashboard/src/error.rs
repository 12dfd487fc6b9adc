//! Errors of the HTTP API: a status code and a JSON body `{"error": code, "message": text}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use orch_escalation::LifecycleError;
use orch_store::StoreError;
use serde_json::json;

/// One refused or failed request.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub(crate) fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, code, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.code, "message": self.message });
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::UnknownTask { .. } | StoreError::UnknownMessage { .. } => {
                ApiError::not_found(err.to_string())
            }
            StoreError::MessageChanged { .. } => {
                ApiError::new(StatusCode::CONFLICT, "changed", err.to_string())
            }
            StoreError::NoReview { .. } => ApiError::not_found(err.to_string()),
            StoreError::ReviewDecided { .. } => {
                ApiError::new(StatusCode::CONFLICT, "decided", err.to_string())
            }
            other => {
                tracing::warn!(error = %other, "store error in the dashboard");
                ApiError::internal("the store could not be read")
            }
        }
    }
}

impl From<LifecycleError> for ApiError {
    fn from(err: LifecycleError) -> Self {
        let (status, code) = match &err {
            LifecycleError::UnknownMessage { .. } => (StatusCode::NOT_FOUND, "not_found"),
            LifecycleError::InvalidId { .. } => (StatusCode::NOT_FOUND, "not_found"),
            LifecycleError::UnknownOption { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unknown_option")
            }
            _ => (StatusCode::CONFLICT, "not_answerable"),
        };
        ApiError::new(status, code, err.to_string())
    }
}
