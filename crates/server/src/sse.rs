//! The streaming body: server-sent events for chat and completion streams. `GenStream` polls the
//! event receivers of every choice of a request and turns each event into a `data: {json}`
//! chunk the moment it arrives, then sends the usage chunk (with
//! `stream_options.include_usage`) and `data: [DONE]`. It owns the receivers, so when the
//! client disconnects and hyper drops the body, every choice is cancelled in the engine.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use engine::{EngineHandle, Event, FinishReason, Usage};
use futures_core::Stream;
use serde_json::{json, Value};

use crate::generation::{log_done, total_usage, Job};
use crate::openai::UsageOut;
use crate::routes::chat_completions::chat_logprob;
use crate::routes::completions::LegacyBuilder;

/// Which endpoint's chunks to write.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// `chat.completion.chunk`.
    Chat {
        /// Include `logprobs.content`.
        logprobs: bool,
    },
    /// `text_completion`.
    Completion {
        /// Send the prompt first.
        echo: bool,
        /// Include legacy log-probabilities.
        logprobs: bool,
    },
}

/// What every chunk of a stream shares.
pub(crate) struct StreamContext {
    pub(crate) id: String,
    pub(crate) created: u64,
    pub(crate) model: String,
    pub(crate) kind: Kind,
    pub(crate) include_usage: bool,
    pub(crate) n: usize,
    pub(crate) engine: EngineHandle,
    pub(crate) started: Instant,
}

struct ChoiceState {
    job: Job,
    done: bool,
    usage: Option<Usage>,
    /// Character offset of the next completion token (legacy log-probabilities).
    offset: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Running,
    Finished,
}

/// An SSE body over the choices of one request.
pub(crate) struct GenStream {
    ctx: StreamContext,
    choices: Vec<ChoiceState>,
    queue: VecDeque<Bytes>,
    phase: Phase,
}

impl GenStream {
    pub(crate) fn new(ctx: StreamContext, jobs: Vec<Job>) -> Self {
        Self {
            ctx,
            choices: jobs
                .into_iter()
                .map(|job| ChoiceState {
                    job,
                    done: false,
                    usage: None,
                    offset: 0,
                })
                .collect(),
            queue: VecDeque::new(),
            phase: Phase::Start,
        }
    }

    fn push(&mut self, v: Value) {
        self.queue.push_back(Bytes::from(format!("data: {v}\n\n")));
    }

    /// A chunk with one choice.
    fn chunk(&mut self, choice: Value) {
        let mut v = match self.ctx.kind {
            Kind::Chat { .. } => json!({
                "id": self.ctx.id,
                "object": "chat.completion.chunk",
                "created": self.ctx.created,
                "model": self.ctx.model,
                "choices": [choice],
            }),
            Kind::Completion { .. } => json!({
                "id": self.ctx.id,
                "object": "text_completion",
                "created": self.ctx.created,
                "model": self.ctx.model,
                "choices": [choice],
            }),
        };
        if self.ctx.include_usage {
            v["usage"] = Value::Null;
        }
        self.push(v);
    }

    fn start(&mut self) {
        for i in 0..self.choices.len() {
            let index = self.choices[i].job.index;
            match self.ctx.kind {
                Kind::Chat { .. } => self.chunk(json!({
                    "index": index,
                    "delta": {"role": "assistant", "content": ""},
                    "logprobs": null,
                    "finish_reason": null,
                })),
                Kind::Completion { echo, logprobs } => {
                    let text = self.choices[i].job.prompt.text.clone();
                    if echo {
                        self.choices[i].offset = text.chars().count();
                        if !logprobs {
                            self.chunk(json!({
                                "index": index, "text": text, "logprobs": null, "finish_reason": null,
                            }));
                        }
                    }
                }
            }
        }
    }

    fn on_event(&mut self, i: usize, event: Event) {
        let index = self.choices[i].job.index;
        match event {
            Event::PromptLogprobs(lps) => {
                if let Kind::Completion { echo: true, .. } = self.ctx.kind {
                    let mut b = LegacyBuilder::default();
                    let prompt = self.choices[i].job.prompt.clone();
                    b.prompt(&self.ctx.engine, &prompt, &lps);
                    self.chunk(json!({
                        "index": index, "text": prompt.text, "logprobs": b.out, "finish_reason": null,
                    }));
                }
            }
            Event::Token { id, text, logprob } => match self.ctx.kind {
                Kind::Chat { logprobs } => {
                    if text.is_empty() && !logprobs {
                        return;
                    }
                    let lp = logprob
                        .filter(|_| logprobs)
                        .map(|lp| json!({"content": [chat_logprob(&self.ctx.engine, &lp)]}));
                    self.chunk(json!({
                        "index": index,
                        "delta": {"content": text},
                        "logprobs": lp,
                        "finish_reason": null,
                    }));
                }
                Kind::Completion { logprobs, .. } => {
                    let lp = if logprobs {
                        let mut b = LegacyBuilder {
                            offset: self.choices[i].offset,
                            ..Default::default()
                        };
                        b.token(&self.ctx.engine, id, logprob.as_ref());
                        self.choices[i].offset = b.offset;
                        Some(b.out)
                    } else {
                        None
                    };
                    if text.is_empty() && lp.is_none() {
                        return;
                    }
                    self.chunk(json!({
                        "index": index, "text": text, "logprobs": lp, "finish_reason": null,
                    }));
                }
            },
            Event::Done {
                text,
                finish,
                usage,
            } => {
                self.choices[i].done = true;
                self.choices[i].usage = Some(usage);
                let reason = match finish {
                    FinishReason::Cancelled => FinishReason::Stop,
                    f => f,
                };
                match self.ctx.kind {
                    Kind::Chat { .. } => {
                        if !text.is_empty() {
                            self.chunk(json!({
                                "index": index, "delta": {"content": text},
                                "logprobs": null, "finish_reason": null,
                            }));
                        }
                        self.chunk(json!({
                            "index": index, "delta": {}, "logprobs": null,
                            "finish_reason": reason.as_str(),
                        }));
                    }
                    Kind::Completion { .. } => self.chunk(json!({
                        "index": index, "text": text, "logprobs": null,
                        "finish_reason": reason.as_str(),
                    })),
                }
            }
            Event::Error(why) => {
                self.choices[i].done = true;
                self.error(&why);
            }
        }
    }

    fn error(&mut self, why: &str) {
        tracing::warn!(request_id = self.ctx.id, error = why, "generation failed");
        self.push(
            json!({"error": {"message": why, "type": "server_error", "param": null, "code": null}}),
        );
    }

    fn end(&mut self) {
        let usages: Vec<Usage> = self
            .choices
            .iter()
            .map(|c| c.usage.unwrap_or_default())
            .collect();
        let (prompt, completion, cached) = total_usage(
            self.choices.iter().map(|c| &c.job).zip(usages.iter()),
            self.ctx.n,
        );
        if self.ctx.include_usage {
            let object = match self.ctx.kind {
                Kind::Chat { .. } => "chat.completion.chunk",
                Kind::Completion { .. } => "text_completion",
            };
            let v = json!({
                "id": self.ctx.id,
                "object": object,
                "created": self.ctx.created,
                "model": self.ctx.model,
                "choices": [],
                "usage": UsageOut::new(prompt, completion, cached),
            });
            self.push(v);
        }
        self.queue
            .push_back(Bytes::from_static(b"data: [DONE]\n\n"));
        let route = match self.ctx.kind {
            Kind::Chat { .. } => "chat",
            Kind::Completion { .. } => "completions",
        };
        log_done(&self.ctx.id, route, self.ctx.started, prompt, completion);
    }
}

impl Stream for GenStream {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(b) = this.queue.pop_front() {
                return Poll::Ready(Some(Ok(b)));
            }
            match this.phase {
                Phase::Finished => return Poll::Ready(None),
                Phase::Start => {
                    this.start();
                    this.phase = Phase::Running;
                }
                Phase::Running => {
                    let mut progressed = false;
                    for i in 0..this.choices.len() {
                        if this.choices[i].done {
                            continue;
                        }
                        match this.choices[i].job.rx.poll_recv(cx) {
                            Poll::Ready(Some(event)) => {
                                this.on_event(i, event);
                                progressed = true;
                            }
                            Poll::Ready(None) => {
                                this.choices[i].done = true;
                                this.error("the engine stopped before the answer was complete");
                                progressed = true;
                            }
                            Poll::Pending => {}
                        }
                    }
                    if this.choices.iter().all(|c| c.done) {
                        this.end();
                        this.phase = Phase::Finished;
                    } else if !progressed {
                        return Poll::Pending;
                    }
                }
            }
        }
    }
}

impl Drop for GenStream {
    fn drop(&mut self) {
        if self.phase != Phase::Finished {
            tracing::info!(
                request_id = self.ctx.id,
                latency_ms = self.ctx.started.elapsed().as_secs_f64() * 1e3,
                "client disconnected; request cancelled"
            );
        }
    }
}

impl IntoResponse for GenStream {
    fn into_response(self) -> Response {
        (
            [
                (header::CONTENT_TYPE, "text/event-stream"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            Body::from_stream(self),
        )
            .into_response()
    }
}
