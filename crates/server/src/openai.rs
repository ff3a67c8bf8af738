//! OpenAI wire types: the request bodies of `/v1/chat/completions` and `/v1/completions` as
//! clients send them (unknown fields are ignored, as OpenAI's API does), and the response
//! objects, chunks and log-probability shapes they expect back, including the legacy
//! completions `logprobs` object (`tokens`, `token_logprobs`, `top_logprobs`, `text_offset`)
//! that lm-evaluation-harness reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A log-probability for the wire: the f32 value as the shortest decimal that reads back to
/// it, so that JSON built through `serde_json::Value` (which holds f64) prints `-0.24374333`,
/// not `-0.24374333024024963`.
pub fn wire_logprob(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// `stop`: one string or a list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StopField {
    /// One stop string.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl StopField {
    /// As a list.
    pub fn into_vec(self) -> Vec<String> {
        match self {
            StopField::One(s) => vec![s],
            StopField::Many(v) => v,
        }
    }
}

/// `stream_options`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StreamOptions {
    /// Send a last chunk with the usage.
    #[serde(default)]
    pub include_usage: Option<bool>,
}

/// Message content: a string, or a list of parts of which the text parts count.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Content parts (`{"type": "text", "text": ...}`).
    Parts(Vec<ContentPart>),
}

/// One content part.
#[derive(Debug, Clone, Deserialize)]
pub struct ContentPart {
    /// `text` (others are refused).
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of a text part.
    #[serde(default)]
    pub text: Option<String>,
}

/// One chat message.
#[derive(Debug, Clone, Deserialize)]
pub struct ChatMessageIn {
    /// `system`, `user`, `assistant`, ...
    pub role: String,
    /// Its content; may be null for assistant messages.
    #[serde(default)]
    pub content: Option<Content>,
}

/// Sampling fields shared by both endpoints.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SamplingFields {
    /// Model id.
    #[serde(default)]
    pub model: Option<String>,
    /// Stream the answer as server-sent events.
    #[serde(default)]
    pub stream: Option<bool>,
    /// Streaming options.
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    /// Most tokens to generate.
    #[serde(default)]
    pub max_tokens: Option<u64>,
    /// Softmax temperature, 0 to 2.
    #[serde(default)]
    pub temperature: Option<f32>,
    /// Nucleus sampling mass.
    #[serde(default)]
    pub top_p: Option<f32>,
    /// Top-k (extension, as vLLM).
    #[serde(default)]
    pub top_k: Option<i64>,
    /// Min-p (extension, as vLLM).
    #[serde(default)]
    pub min_p: Option<f32>,
    /// Repetition penalty (extension, as vLLM).
    #[serde(default)]
    pub repetition_penalty: Option<f32>,
    /// Random seed.
    #[serde(default)]
    pub seed: Option<i64>,
    /// Stop strings.
    #[serde(default)]
    pub stop: Option<StopField>,
    /// Choices per prompt.
    #[serde(default)]
    pub n: Option<u64>,
    /// Presence penalty, -2 to 2.
    #[serde(default)]
    pub presence_penalty: Option<f32>,
    /// Frequency penalty, -2 to 2.
    #[serde(default)]
    pub frequency_penalty: Option<f32>,
    /// Keep generating after end-of-text (extension, as vLLM).
    #[serde(default)]
    pub ignore_eos: Option<bool>,
}

/// Body of `POST /v1/chat/completions`.
#[derive(Debug, Clone, Deserialize)]
pub struct ChatRequest {
    /// The conversation.
    pub messages: Vec<ChatMessageIn>,
    /// Newer name of `max_tokens`.
    #[serde(default)]
    pub max_completion_tokens: Option<u64>,
    /// Return log-probabilities of the generated tokens.
    #[serde(default)]
    pub logprobs: Option<bool>,
    /// Alternatives per position (0 to 20), with `logprobs`.
    #[serde(default)]
    pub top_logprobs: Option<u64>,
    /// The shared fields.
    #[serde(flatten)]
    pub common: SamplingFields,
}

/// `prompt`: a string, strings, token ids, or lists of token ids.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PromptField {
    /// One text.
    Text(String),
    /// Several texts.
    Texts(Vec<String>),
    /// One tokenized prompt.
    Ids(Vec<u32>),
    /// Several tokenized prompts.
    IdLists(Vec<Vec<u32>>),
}

/// Body of `POST /v1/completions`.
#[derive(Debug, Clone, Deserialize)]
pub struct CompletionRequest {
    /// The prompt(s).
    pub prompt: PromptField,
    /// Return the prompt before the completion.
    #[serde(default)]
    pub echo: Option<bool>,
    /// Return log-probabilities with this many alternatives (0 to 20).
    #[serde(default)]
    pub logprobs: Option<u64>,
    /// The shared fields.
    #[serde(flatten)]
    pub common: SamplingFields,
}

/// Token counts.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UsageOut {
    /// Prompt tokens.
    pub prompt_tokens: usize,
    /// Generated tokens.
    pub completion_tokens: usize,
    /// Their sum.
    pub total_tokens: usize,
    /// Cached prompt tokens.
    pub prompt_tokens_details: PromptTokensDetails,
}

/// Details of the prompt tokens.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PromptTokensDetails {
    /// Prompt tokens found in the prefix cache.
    pub cached_tokens: usize,
}

impl UsageOut {
    /// Sums of several choices' usages; the prompt counts once per distinct prompt.
    pub fn new(prompt_tokens: usize, completion_tokens: usize, cached_tokens: usize) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
            prompt_tokens_details: PromptTokensDetails { cached_tokens },
        }
    }
}

/// A chat message in a response.
#[derive(Debug, Clone, Serialize)]
pub struct ChatMessageOut {
    /// Always `assistant`.
    pub role: &'static str,
    /// The generated text.
    pub content: String,
}

/// One alternative in chat log-probabilities.
#[derive(Debug, Clone, Serialize)]
pub struct TopLogprob {
    /// The token's text.
    pub token: String,
    /// Its log-probability.
    pub logprob: f64,
    /// Its UTF-8 bytes.
    pub bytes: Vec<u8>,
}

/// One position of chat log-probabilities.
#[derive(Debug, Clone, Serialize)]
pub struct ChatLogprob {
    /// The token's text.
    pub token: String,
    /// Its log-probability.
    pub logprob: f64,
    /// Its UTF-8 bytes.
    pub bytes: Vec<u8>,
    /// The most likely tokens at this position.
    pub top_logprobs: Vec<TopLogprob>,
}

/// `choices[].logprobs` of a chat completion.
#[derive(Debug, Clone, Serialize)]
pub struct ChatLogprobs {
    /// One entry per generated token.
    pub content: Vec<ChatLogprob>,
}

/// One choice of a chat completion.
#[derive(Debug, Clone, Serialize)]
pub struct ChatChoice {
    /// Its index.
    pub index: usize,
    /// The answer.
    pub message: ChatMessageOut,
    /// Log-probabilities, when asked for.
    pub logprobs: Option<ChatLogprobs>,
    /// `stop` or `length`.
    pub finish_reason: &'static str,
}

/// A chat completion.
#[derive(Debug, Clone, Serialize)]
pub struct ChatResponse {
    /// Request id.
    pub id: String,
    /// `chat.completion`.
    pub object: &'static str,
    /// Unix seconds.
    pub created: u64,
    /// Model id.
    pub model: String,
    /// The choices.
    pub choices: Vec<ChatChoice>,
    /// Token counts.
    pub usage: UsageOut,
}

/// The legacy completions `logprobs` object.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LegacyLogprobs {
    /// Token texts.
    pub tokens: Vec<String>,
    /// Their log-probabilities; null for the first prompt token.
    pub token_logprobs: Vec<Option<f64>>,
    /// Per position, the most likely tokens by text; null for the first prompt token.
    pub top_logprobs: Vec<Option<BTreeMap<String, f64>>>,
    /// Character offset of each token in the returned text.
    pub text_offset: Vec<usize>,
}

/// One choice of a completion.
#[derive(Debug, Clone, Serialize)]
pub struct CompletionChoice {
    /// Its index (prompt index × n + sample index).
    pub index: usize,
    /// The text (with the prompt first when `echo`).
    pub text: String,
    /// Log-probabilities, when asked for.
    pub logprobs: Option<LegacyLogprobs>,
    /// `stop` or `length`.
    pub finish_reason: &'static str,
}

/// A completion.
#[derive(Debug, Clone, Serialize)]
pub struct CompletionResponse {
    /// Request id.
    pub id: String,
    /// `text_completion`.
    pub object: &'static str,
    /// Unix seconds.
    pub created: u64,
    /// Model id.
    pub model: String,
    /// The choices.
    pub choices: Vec<CompletionChoice>,
    /// Token counts.
    pub usage: UsageOut,
}

/// One model in `GET /v1/models`.
#[derive(Debug, Clone, Serialize)]
pub struct ModelCard {
    /// Its id (what requests put in `model`).
    pub id: String,
    /// `model`.
    pub object: &'static str,
    /// Unix seconds when the server started.
    pub created: u64,
    /// `behemoth`.
    pub owned_by: &'static str,
    /// Context length.
    pub max_model_len: usize,
}

/// `GET /v1/models`.
#[derive(Debug, Clone, Serialize)]
pub struct ModelList {
    /// `list`.
    pub object: &'static str,
    /// The served models (one).
    pub data: Vec<ModelCard>,
}
