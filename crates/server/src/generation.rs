//! From OpenAI parameters to engine requests and back: checks and converts the sampling
//! fields both endpoints share, submits one engine request per choice (`n` per prompt, seeds
//! `seed + i` so that choices differ but stay reproducible), awaits a request's events without
//! blocking the async runtime, and collects a whole answer for non-streaming responses.
//! Every number from the client is capped before it sizes anything.

use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use engine::{
    EngineHandle, Event, EventReceiver, FinishReason, Request, SamplingParams, TokenLogprob, Usage,
    MAX_TOP_LOGPROBS,
};

use crate::openai::SamplingFields;
use crate::ApiError;

/// Most choices (`n`) per prompt.
pub(crate) const MAX_N: u64 = 16;
/// Most engine requests one HTTP request may create (prompts × n).
pub(crate) const MAX_CHOICES: usize = 64;
/// Most stop strings, and longest one in bytes.
const MAX_STOPS: usize = 16;
const MAX_STOP_LEN: usize = 256;

/// Parameters both endpoints share, checked.
#[derive(Debug, Clone)]
pub(crate) struct Params {
    pub(crate) max_tokens: usize,
    pub(crate) sampling: SamplingParams,
    pub(crate) presence_penalty: f32,
    pub(crate) frequency_penalty: f32,
    pub(crate) stop: Vec<String>,
    pub(crate) n: usize,
    pub(crate) stream: bool,
    pub(crate) include_usage: bool,
    pub(crate) ignore_eos: bool,
}

/// A seed for requests that give none: different every time.
fn fresh_seed() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    t ^ COUNTER
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Checks the shared fields; `max_tokens` is the value to use when the client gave none.
pub(crate) fn parse_params(
    f: &SamplingFields,
    max_tokens: Option<u64>,
    default_max_tokens: usize,
) -> Result<Params, ApiError> {
    let temperature = f.temperature.unwrap_or(1.0);
    if !(0.0..=2.0).contains(&temperature) {
        return Err(ApiError::bad_param(
            "temperature",
            "temperature must be between 0 and 2",
        ));
    }
    let top_p = f.top_p.unwrap_or(1.0);
    if !(top_p > 0.0 && top_p <= 1.0) {
        return Err(ApiError::bad_param("top_p", "top_p must be in (0, 1]"));
    }
    let min_p = f.min_p.unwrap_or(0.0);
    if !(0.0..=1.0).contains(&min_p) {
        return Err(ApiError::bad_param("min_p", "min_p must be in [0, 1]"));
    }
    let repeat_penalty = f.repetition_penalty.unwrap_or(1.0);
    if !(repeat_penalty > 0.0 && repeat_penalty.is_finite()) {
        return Err(ApiError::bad_param(
            "repetition_penalty",
            "repetition_penalty must be > 0",
        ));
    }
    let top_k = usize::try_from(f.top_k.unwrap_or(0).max(0)).unwrap_or(0);
    for (name, v) in [
        ("presence_penalty", f.presence_penalty),
        ("frequency_penalty", f.frequency_penalty),
    ] {
        if let Some(v) = v {
            if !(-2.0..=2.0).contains(&v) {
                return Err(ApiError::bad_param(
                    name,
                    format!("{name} must be between -2 and 2"),
                ));
            }
        }
    }
    let n = f.n.unwrap_or(1);
    if !(1..=MAX_N).contains(&n) {
        return Err(ApiError::bad_param(
            "n",
            format!("n must be between 1 and {MAX_N}"),
        ));
    }
    let stop = f.stop.clone().map(|s| s.into_vec()).unwrap_or_default();
    if stop.len() > MAX_STOPS || stop.iter().any(|s| s.len() > MAX_STOP_LEN) {
        return Err(ApiError::bad_param(
            "stop",
            format!("at most {MAX_STOPS} stop strings of at most {MAX_STOP_LEN} bytes"),
        ));
    }
    let max_tokens = match max_tokens {
        Some(m) => usize::try_from(m).unwrap_or(usize::MAX),
        None => default_max_tokens,
    };
    let seed = f.seed.map_or_else(fresh_seed, |s| s as u64);
    Ok(Params {
        max_tokens,
        sampling: SamplingParams {
            temperature,
            top_k,
            top_p,
            min_p,
            repeat_penalty,
            repeat_last_n: 64,
            seed,
        },
        presence_penalty: f.presence_penalty.unwrap_or(0.0),
        frequency_penalty: f.frequency_penalty.unwrap_or(0.0),
        stop,
        n: n as usize,
        stream: f.stream.unwrap_or(false),
        include_usage: f
            .stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false),
        ignore_eos: f.ignore_eos.unwrap_or(false),
    })
}

/// Checks a top-logprobs count.
pub(crate) fn parse_top(param: &'static str, k: u64) -> Result<usize, ApiError> {
    if k > MAX_TOP_LOGPROBS as u64 {
        return Err(ApiError::bad_param(
            param,
            format!("{param} must be between 0 and {MAX_TOP_LOGPROBS}"),
        ));
    }
    Ok(k as usize)
}

/// One prompt, tokenized, with the text `echo` returns.
#[derive(Debug, Clone)]
pub(crate) struct Prompt {
    pub(crate) ids: Vec<u32>,
    pub(crate) text: String,
}

/// One submitted choice.
pub(crate) struct Job {
    /// Index in the response's `choices`.
    pub(crate) index: usize,
    pub(crate) prompt: Arc<Prompt>,
    pub(crate) rx: EventReceiver,
}

/// Submits `n` requests per prompt, in choice order. Dropping the jobs cancels them.
pub(crate) fn submit_all(
    engine: &EngineHandle,
    prompts: Vec<Prompt>,
    p: &Params,
    logprobs: Option<usize>,
    prompt_logprobs: Option<usize>,
) -> Result<Vec<Job>, ApiError> {
    if prompts.len().saturating_mul(p.n) > MAX_CHOICES {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_CHOICES} choices per request (prompts × n)"
        )));
    }
    let mut jobs = Vec::with_capacity(prompts.len() * p.n);
    for prompt in prompts {
        let prompt = Arc::new(prompt);
        for i in 0..p.n {
            let request = Request {
                prompt: prompt.ids.clone(),
                max_tokens: p.max_tokens,
                sampling: SamplingParams {
                    seed: p.sampling.seed.wrapping_add(i as u64),
                    ..p.sampling
                },
                presence_penalty: p.presence_penalty,
                frequency_penalty: p.frequency_penalty,
                stop: p.stop.clone(),
                logprobs,
                prompt_logprobs,
                ignore_eos: p.ignore_eos,
            };
            let rx = engine.submit(request)?;
            jobs.push(Job {
                index: jobs.len(),
                prompt: prompt.clone(),
                rx,
            });
        }
    }
    Ok(jobs)
}

/// The next event of a request, without blocking the runtime.
pub(crate) async fn next_event(rx: &EventReceiver) -> Option<Event> {
    poll_fn(|cx| rx.poll_recv(cx)).await
}

/// A whole answer.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) text: String,
    pub(crate) tokens: Vec<(u32, Option<TokenLogprob>)>,
    pub(crate) prompt_logprobs: Vec<TokenLogprob>,
    pub(crate) finish: FinishReason,
    pub(crate) usage: Usage,
}

/// Awaits every event of `job` and assembles the answer.
pub(crate) async fn collect(job: &Job) -> Result<Answer, ApiError> {
    let mut answer = Answer {
        text: String::new(),
        tokens: Vec::new(),
        prompt_logprobs: Vec::new(),
        finish: FinishReason::Stop,
        usage: Usage::default(),
    };
    loop {
        match next_event(&job.rx).await {
            Some(Event::PromptLogprobs(lps)) => answer.prompt_logprobs = lps,
            Some(Event::Token { id, text, logprob }) => {
                answer.text.push_str(&text);
                answer.tokens.push((id, logprob));
            }
            Some(Event::Done {
                text,
                finish,
                usage,
            }) => {
                answer.text.push_str(&text);
                answer.finish = finish;
                answer.usage = usage;
                return Ok(answer);
            }
            Some(Event::Error(why)) => return Err(ApiError::Internal(why)),
            None => {
                return Err(ApiError::Internal(
                    "the engine stopped before the answer was complete".into(),
                ))
            }
        }
    }
}

/// Sums usages: prompts count once per distinct prompt (the first choice of each).
pub(crate) fn total_usage<'a>(
    parts: impl Iterator<Item = (&'a Job, &'a Usage)>,
    n: usize,
) -> (usize, usize, usize) {
    let (mut prompt, mut completion, mut cached) = (0, 0, 0);
    for (job, u) in parts {
        if job.index % n.max(1) == 0 {
            prompt += u.prompt_tokens;
            cached += u.cached_tokens;
        }
        completion += u.completion_tokens;
    }
    (prompt, completion, cached)
}

/// Logs a finished request.
pub(crate) fn log_done(id: &str, route: &str, started: Instant, prompt: usize, completion: usize) {
    tracing::info!(
        request_id = id,
        route,
        prompt_tokens = prompt,
        completion_tokens = completion,
        latency_ms = started.elapsed().as_secs_f64() * 1e3,
        "request done"
    );
}

/// The text of a token for log-probability listings (special tokens by name).
pub(crate) fn token_text(engine: &EngineHandle, id: u32) -> String {
    String::from_utf8_lossy(&engine.tokenizer().token_to_piece(id, true)).into_owned()
}

/// The bytes of a token's text.
pub(crate) fn token_bytes(engine: &EngineHandle, id: u32) -> Vec<u8> {
    engine.tokenizer().token_to_piece(id, true)
}
