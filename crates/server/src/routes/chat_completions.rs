//! `POST /v1/chat/completions`: the messages are rendered through the model's chat template
//! (its own, or the tokenizer crate's built-in fallback for models without one), tokenized with
//! special tokens parsed, and generated like a completion; the answer comes back as a chat
//! message, or streamed as `chat.completion.chunk`s.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::{EngineHandle, TokenLogprob};
use tokenizer::{ChatMessage, ChatTemplate};

use crate::generation::{
    collect, log_done, parse_params, parse_top, submit_all, token_bytes, token_text, total_usage,
    Prompt,
};
use crate::openai::{
    wire_logprob, ChatChoice, ChatLogprob, ChatLogprobs, ChatMessageOut, ChatRequest, ChatResponse,
    Content, TopLogprob, UsageOut,
};
use crate::sse::{GenStream, Kind, StreamContext};
use crate::{unix_now, ApiError, AppState};

/// Most messages in one conversation.
const MAX_MESSAGES: usize = 4096;

pub(crate) async fn handle(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let body = body?;
    let req: ChatRequest = serde_json::from_slice(&body)?;
    state.check_model(req.common.model.as_deref())?;
    let engine = state.engine()?.clone();
    let max_tokens = req.max_completion_tokens.or(req.common.max_tokens);
    let p = parse_params(&req.common, max_tokens, usize::MAX)?;
    let logprobs = match req.logprobs {
        Some(true) => Some(parse_top("top_logprobs", req.top_logprobs.unwrap_or(0))?),
        _ => None,
    };
    let prompt = render(&state, &engine, &req)?;
    let jobs = submit_all(&engine, vec![prompt], &p, logprobs, None)?;
    let id = state.request_id("chatcmpl");
    let model = state.config.model_name.clone();
    if p.stream {
        let ctx = StreamContext {
            id,
            created: unix_now(),
            model,
            kind: Kind::Chat {
                logprobs: logprobs.is_some(),
            },
            include_usage: p.include_usage,
            n: p.n,
            engine,
            started,
        };
        return Ok(GenStream::new(ctx, jobs).into_response());
    }
    let mut answers = Vec::with_capacity(jobs.len());
    for job in &jobs {
        answers.push(collect(job).await?);
    }
    let choices = jobs
        .iter()
        .zip(&answers)
        .map(|(job, a)| ChatChoice {
            index: job.index,
            message: ChatMessageOut {
                role: "assistant",
                content: a.text.clone(),
            },
            logprobs: logprobs.map(|_| ChatLogprobs {
                content: a
                    .tokens
                    .iter()
                    .filter_map(|(_, lp)| lp.as_ref().map(|lp| chat_logprob(&engine, lp)))
                    .collect(),
            }),
            finish_reason: a.finish.as_str(),
        })
        .collect();
    let (prompt_tokens, completion_tokens, cached) =
        total_usage(jobs.iter().zip(answers.iter().map(|a| &a.usage)), p.n);
    log_done(&id, "chat", started, prompt_tokens, completion_tokens);
    Ok(Json(ChatResponse {
        id,
        object: "chat.completion",
        created: unix_now(),
        model,
        choices,
        usage: UsageOut::new(prompt_tokens, completion_tokens, cached),
    })
    .into_response())
}

/// Renders and tokenizes the conversation.
fn render(state: &AppState, engine: &EngineHandle, req: &ChatRequest) -> Result<Prompt, ApiError> {
    if req.messages.is_empty() || req.messages.len() > MAX_MESSAGES {
        return Err(ApiError::bad_param(
            "messages",
            format!("between 1 and {MAX_MESSAGES} messages are required"),
        ));
    }
    let mut messages = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        let content = match &m.content {
            None => String::new(),
            Some(Content::Text(t)) => t.clone(),
            Some(Content::Parts(parts)) => {
                let mut text = String::new();
                for part in parts {
                    match (part.kind.as_str(), &part.text) {
                        ("text", Some(t)) => text.push_str(t),
                        _ => {
                            return Err(ApiError::bad_param(
                                "messages",
                                format!("content parts of type '{}' are not supported", part.kind),
                            ))
                        }
                    }
                }
                text
            }
        };
        messages.push(ChatMessage {
            role: m.role.clone(),
            content,
        });
    }
    let template = state
        .chat_template
        .get_or_init(|| ChatTemplate::for_tokenizer(engine.tokenizer()).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| ApiError::Internal(format!("the model's chat template is unusable: {e}")))?;
    let text = template
        .render(&messages, true)
        .map_err(|e| ApiError::bad_param("messages", format!("cannot render the chat: {e}")))?;
    let ids = engine.tokenizer().encode(&text, false, true);
    if ids.is_empty() {
        return Err(ApiError::bad_param(
            "messages",
            "the rendered chat is empty",
        ));
    }
    Ok(Prompt { ids, text })
}

/// The chat form of one position's log-probabilities.
pub(crate) fn chat_logprob(engine: &EngineHandle, lp: &TokenLogprob) -> ChatLogprob {
    ChatLogprob {
        token: token_text(engine, lp.token),
        logprob: wire_logprob(lp.logprob),
        bytes: token_bytes(engine, lp.token),
        top_logprobs: lp
            .top
            .iter()
            .map(|&(id, l)| TopLogprob {
                token: token_text(engine, id),
                logprob: wire_logprob(l),
                bytes: token_bytes(engine, id),
            })
            .collect(),
    }
}
