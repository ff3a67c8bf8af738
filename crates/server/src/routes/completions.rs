//! `POST /v1/completions`: text or token-id prompts, one or several; `n` choices per prompt;
//! `echo` returns the prompt before the completion, and with `logprobs` the legacy log-probability
//! object covers the prompt tokens too (the first is null), which is how lm-evaluation-harness
//! scores multiple-choice and perplexity tasks through a server.

use std::collections::BTreeMap;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::{EngineHandle, TokenLogprob};

use crate::generation::{
    collect, log_done, parse_params, parse_top, submit_all, total_usage, Prompt, MAX_CHOICES,
};
use crate::openai::{
    wire_logprob, CompletionChoice, CompletionRequest, CompletionResponse, LegacyLogprobs,
    PromptField, UsageOut,
};
use crate::sse::{GenStream, Kind, StreamContext};
use crate::{unix_now, ApiError, AppState};

/// OpenAI's default `max_tokens` for completions.
const DEFAULT_MAX_TOKENS: usize = 16;

pub(crate) async fn handle(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let body = body?;
    let req: CompletionRequest = serde_json::from_slice(&body)?;
    state.check_model(req.common.model.as_deref())?;
    let engine = state.engine()?.clone();
    let p = parse_params(&req.common, req.common.max_tokens, DEFAULT_MAX_TOKENS)?;
    let echo = req.echo.unwrap_or(false);
    let logprobs = req.logprobs.map(|k| parse_top("logprobs", k)).transpose()?;
    let prompts = prompts(&engine, req.prompt)?;
    let prompt_logprobs = if echo { logprobs } else { None };
    let jobs = submit_all(&engine, prompts, &p, logprobs, prompt_logprobs)?;
    let id = state.request_id("cmpl");
    let model = state.config.model_name.clone();
    if p.stream {
        let ctx = StreamContext {
            id,
            created: unix_now(),
            model,
            kind: Kind::Completion {
                echo,
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
    let mut choices = Vec::with_capacity(jobs.len());
    for (job, a) in jobs.iter().zip(&answers) {
        let mut text = String::new();
        let mut lp = LegacyBuilder::default();
        if echo {
            text.push_str(&job.prompt.text);
            if logprobs.is_some() {
                lp.prompt(&engine, &job.prompt, &a.prompt_logprobs);
            }
        }
        if logprobs.is_some() {
            lp.offset = text.chars().count();
            for (tid, tlp) in &a.tokens {
                lp.token(&engine, *tid, tlp.as_ref());
            }
        }
        text.push_str(&a.text);
        choices.push(CompletionChoice {
            index: job.index,
            text,
            logprobs: logprobs.map(|_| lp.out),
            finish_reason: a.finish.as_str(),
        });
    }
    let (prompt_tokens, completion_tokens, cached) =
        total_usage(jobs.iter().zip(answers.iter().map(|a| &a.usage)), p.n);
    log_done(
        &id,
        "completions",
        started,
        prompt_tokens,
        completion_tokens,
    );
    Ok(Json(CompletionResponse {
        id,
        object: "text_completion",
        created: unix_now(),
        model,
        choices,
        usage: UsageOut::new(prompt_tokens, completion_tokens, cached),
    })
    .into_response())
}

/// Tokenizes the prompt field: texts get BOS (when the vocabulary adds it) and have special
/// tokens parsed; token ids are taken as they are.
fn prompts(engine: &EngineHandle, field: PromptField) -> Result<Vec<Prompt>, ApiError> {
    let tok = engine.tokenizer();
    let too_many = || {
        ApiError::bad_param(
            "prompt",
            format!("at most {MAX_CHOICES} prompts per request"),
        )
    };
    let list = match field {
        PromptField::Text(t) => vec![Prompt {
            ids: tok.encode(&t, true, true),
            text: t,
        }],
        PromptField::Texts(v) if v.len() > MAX_CHOICES => return Err(too_many()),
        PromptField::Texts(v) => v
            .into_iter()
            .map(|t| Prompt {
                ids: tok.encode(&t, true, true),
                text: t,
            })
            .collect(),
        PromptField::Ids(ids) => vec![Prompt {
            text: tok.decode(&ids, true),
            ids,
        }],
        PromptField::IdLists(v) if v.len() > MAX_CHOICES => return Err(too_many()),
        PromptField::IdLists(v) => v
            .into_iter()
            .map(|ids| Prompt {
                text: tok.decode(&ids, true),
                ids,
            })
            .collect(),
    };
    if list.is_empty() || list.iter().any(|p| p.ids.is_empty()) {
        return Err(ApiError::bad_param("prompt", "the prompt is empty"));
    }
    Ok(list)
}

/// Builds the legacy `logprobs` object token by token.
#[derive(Debug, Default)]
pub(crate) struct LegacyBuilder {
    pub(crate) out: LegacyLogprobs,
    /// Character offset of the next token in the returned text.
    pub(crate) offset: usize,
}

fn top_map(engine: &EngineHandle, top: &[(u32, f32)]) -> BTreeMap<String, f64> {
    let mut map = BTreeMap::new();
    for &(id, lp) in top {
        map.entry(crate::generation::token_text(engine, id))
            .or_insert(wire_logprob(lp));
    }
    map
}

impl LegacyBuilder {
    /// Entries for the prompt tokens; `lps[i]` belongs to prompt token `i + 1`. Offsets follow
    /// the prompt's own text (the SentencePiece leading space, absent from it, is discounted).
    pub(crate) fn prompt(&mut self, engine: &EngineHandle, prompt: &Prompt, lps: &[TokenLogprob]) {
        let tok = engine.tokenizer();
        let pieces: Vec<usize> = prompt
            .ids
            .iter()
            .map(|&id| {
                String::from_utf8_lossy(&tok.token_to_piece(id, false))
                    .chars()
                    .count()
            })
            .collect();
        let total: usize = pieces.iter().sum();
        let skew = total.saturating_sub(prompt.text.chars().count());
        let mut cum: usize = 0;
        for (i, &id) in prompt.ids.iter().enumerate() {
            self.out
                .tokens
                .push(crate::generation::token_text(engine, id));
            self.out
                .text_offset
                .push(self.offset + cum.saturating_sub(skew));
            cum += pieces[i];
            match i.checked_sub(1).and_then(|j| lps.get(j)) {
                Some(lp) => {
                    self.out.token_logprobs.push(Some(wire_logprob(lp.logprob)));
                    self.out.top_logprobs.push(Some(top_map(engine, &lp.top)));
                }
                None => {
                    self.out.token_logprobs.push(None);
                    self.out.top_logprobs.push(None);
                }
            }
        }
        self.offset += prompt.text.chars().count();
    }

    /// The entry of one generated token.
    pub(crate) fn token(&mut self, engine: &EngineHandle, id: u32, lp: Option<&TokenLogprob>) {
        self.out
            .tokens
            .push(crate::generation::token_text(engine, id));
        self.out.text_offset.push(self.offset);
        self.offset += String::from_utf8_lossy(&engine.tokenizer().token_to_piece(id, false))
            .chars()
            .count();
        self.out
            .token_logprobs
            .push(lp.map(|l| wire_logprob(l.logprob)));
        self.out
            .top_logprobs
            .push(lp.map(|l| top_map(engine, &l.top)));
    }
}
