//! `GET /v1/models` and `GET /v1/models/{id}`: the one served model.

use axum::extract::{Path, State};
use axum::Json;

use crate::openai::{ModelCard, ModelList};
use crate::{ApiError, AppState};

fn card(state: &AppState) -> ModelCard {
    ModelCard {
        id: state.config.model_name.clone(),
        object: "model",
        created: state.created,
        owned_by: "behemoth",
        max_model_len: state.engine.get().map_or(0, |e| e.info().ctx),
    }
}

pub(crate) async fn list(State(state): State<AppState>) -> Json<ModelList> {
    Json(ModelList {
        object: "list",
        data: vec![card(&state)],
    })
}

pub(crate) async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ModelCard>, ApiError> {
    if id != state.config.model_name {
        return Err(ApiError::ModelNotFound(id));
    }
    Ok(Json(card(&state)))
}
