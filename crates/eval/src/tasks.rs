//! The benchmark tasks, defined as lm-evaluation-harness 0.4 defines them
//! (`lm_eval/tasks/{hellaswag,arc,piqa,winogrande,lambada,mmlu/default}`), read from the data
//! formats in `shared/datasets` (llm-foundry's `query`/`choices`/`gold` schema, HellaSwag's
//! original schema) or from the Hugging Face schemas lm-eval loads.
//!
//! A task turns each item into a `Doc`: one `(context, continuation)` pair per choice, the
//! gold index, and the item rendered with its answer for few-shot prompts. Pairs are tokenized
//! as lm-eval's `_encode_pair` does (trailing context whitespace moves to the continuation; the
//! pair is encoded together and split at the length of the encoded context, both with the
//! tokenizer's default special tokens, i.e. BOS), left-truncated to the model's context as
//! `_loglikelihood_tokens` does, and scored by `engine::loglikelihood`.
//!
//! Metrics: `acc` (argmax of summed log-likelihood), `acc_norm` (argmax of log-likelihood
//! divided by the choice's length in characters), each with lm-eval's standard error; LAMBADA
//! gives `acc` (the last word is the greedy continuation) and `perplexity` (exp of the negative
//! mean log-likelihood).

use std::path::{Path, PathBuf};
use std::time::Instant;

use engine::{LoadedModel, LoglikelihoodRequest, ScoreOptions};
use serde::{Deserialize, Serialize};
use tokenizer::Tokenizer;

use crate::dataset::{read_jsonl, Item};
use crate::{mean_stderr, BenchResult, Error, Metric, Progress, Result};

/// A benchmark task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// HellaSwag: 4 endings, `acc` and `acc_norm`.
    Hellaswag,
    /// ARC-Easy: `Question: …\nAnswer:` + answer text, `acc` and `acc_norm`.
    ArcEasy,
    /// ARC-Challenge: as ARC-Easy.
    ArcChallenge,
    /// WinoGrande: partial scoring (one context per option), `acc`.
    Winogrande,
    /// PIQA: `Question: …\nAnswer:` + solution, `acc` and `acc_norm`.
    Piqa,
    /// LAMBADA (OpenAI): the last word, `acc` and `perplexity`.
    Lambada,
    /// MMLU: question with lettered choices, ` A`…` D`, `acc`.
    Mmlu,
}

impl Task {
    /// Every task.
    pub const ALL: [Task; 7] = [
        Task::Hellaswag,
        Task::ArcEasy,
        Task::ArcChallenge,
        Task::Winogrande,
        Task::Piqa,
        Task::Lambada,
        Task::Mmlu,
    ];

    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Task::Hellaswag => "hellaswag",
            Task::ArcEasy => "arc_easy",
            Task::ArcChallenge => "arc_challenge",
            Task::Winogrande => "winogrande",
            Task::Piqa => "piqa",
            Task::Lambada => "lambada",
            Task::Mmlu => "mmlu",
        }
    }

    /// The task called `name`.
    pub fn from_name(name: &str) -> Option<Task> {
        Task::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The metrics lm-eval reports for it.
    pub fn metric_names(self) -> &'static [&'static str] {
        match self {
            Task::Hellaswag | Task::ArcEasy | Task::ArcChallenge | Task::Piqa => {
                &["acc", "acc_norm"]
            }
            Task::Winogrande | Task::Mmlu => &["acc"],
            Task::Lambada => &["acc", "perplexity"],
        }
    }
}

/// How to run a task.
#[derive(Debug, Clone, Default)]
pub struct TaskOptions {
    /// Score only the first `limit` items (lm-eval's `--limit N`).
    pub limit: Option<usize>,
    /// Few-shot examples per prompt (first-n from the few-shot file, excluding the item itself).
    pub shots: usize,
    /// Where few-shot examples come from; the data file when `None`.
    pub fewshot_data: Option<PathBuf>,
    /// Scoring threads; 0 means one per core.
    pub workers: usize,
    /// Longest input in tokens (lm-eval's `max_length`): longer contexts lose their first tokens.
    /// Default: the model's context length. lm-eval's Hugging Face backend takes it from
    /// `config.json` (`max_position_embeddings`), which can be shorter than a GGUF's
    /// `context_length` (stories260K: 512 vs 2048).
    pub max_length: Option<usize>,
}

/// One item, in lm-eval's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    /// Per choice, the `(context, continuation)` to score, before any few-shot prefix.
    pub requests: Vec<(String, String)>,
    /// Per choice, the length in characters that `acc_norm` divides by.
    pub choice_chars: Vec<usize>,
    /// Index of the right choice.
    pub gold: usize,
    /// The item with its right answer, as a few-shot example.
    pub solved: String,
    /// Text put before the prompt (MMLU's subject line), once.
    pub description: String,
    /// Few-shot examples come from items of the same group (MMLU subject).
    pub group: String,
}

/// The scores of one item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocScore {
    /// Log-likelihood per choice.
    pub loglikelihoods: Vec<f64>,
    /// Whether each choice is the greedy continuation.
    pub is_greedy: Vec<bool>,
    /// The right choice.
    pub gold: usize,
}

/// The result of a task run, with the per-item scores behind it.
#[derive(Debug, Clone)]
pub struct TaskRun {
    /// Aggregated metrics.
    pub result: BenchResult,
    /// Per-item scores.
    pub docs: Vec<DocScore>,
}

/// Reads a task's data file into docs.
pub fn load_docs(task: Task, path: &Path) -> Result<Vec<Doc>> {
    read_jsonl(path)?
        .iter()
        .map(|item| doc_from_item(task, item))
        .collect()
}

/// Runs `task` on the data file `data`.
pub fn run_task(
    lm: &LoadedModel,
    task: Task,
    data: &Path,
    opts: &TaskOptions,
    progress: &dyn Progress,
) -> Result<TaskRun> {
    let t0 = Instant::now();
    let mut docs = load_docs(task, data)?;
    let fewshot_pool = match &opts.fewshot_data {
        Some(p) if opts.shots > 0 => Some(load_docs(task, p)?),
        _ => None,
    };
    let prompts = build_prompts(
        &docs,
        fewshot_pool.as_deref(),
        opts.shots,
        opts.limit.unwrap_or(usize::MAX),
    )?;
    docs.truncate(prompts.len());
    let context_length = lm.model.config().context_length;
    let max_len = opts.max_length.unwrap_or(context_length);
    if max_len == 0 || max_len > context_length {
        return Err(Error::Invalid(format!(
            "max length {max_len} must be between 1 and the model's context {context_length}"
        )));
    }
    let mut requests = Vec::new();
    for (d, pairs) in prompts.iter().enumerate() {
        for (context, continuation) in pairs {
            let (c, k) = encode_pair(&lm.tokenizer, context, continuation);
            let req = truncate_left(c, k, max_len).map_err(|why| {
                Error::Invalid(format!("{}: item {}: {why}", data.display(), d + 1))
            })?;
            requests.push(req);
        }
    }
    progress.start(task.name(), requests.len());
    let score_opts = score_options(opts.workers);
    let scores = engine::loglikelihood(lm, &requests, &score_opts, &|n| progress.advance(n));
    progress.finish();
    let scores = scores?;
    let mut it = scores.into_iter();
    let doc_scores: Vec<DocScore> = docs
        .iter()
        .map(|doc| {
            let s: Vec<_> = it.by_ref().take(doc.requests.len()).collect();
            DocScore {
                loglikelihoods: s.iter().map(|x| x.logprob).collect(),
                is_greedy: s.iter().map(|x| x.is_greedy).collect(),
                gold: doc.gold,
            }
        })
        .collect();
    let metrics = task_metrics(task, &docs, &doc_scores);
    Ok(TaskRun {
        result: BenchResult {
            benchmark: task.name().to_string(),
            data: data.display().to_string(),
            items: docs.len(),
            shots: opts.shots,
            metrics,
            seconds: t0.elapsed().as_secs_f64(),
            settings: serde_json::json!({
                "limit": opts.limit,
                "max_length": max_len,
                "scored_requests": requests.len(),
            }),
        },
        docs: doc_scores,
    })
}

/// Scoring options for `workers` (0: one per core).
pub(crate) fn score_options(workers: usize) -> ScoreOptions {
    if workers == 0 {
        ScoreOptions::default()
    } else {
        ScoreOptions { workers }
    }
}

/// Per doc, its `(context, continuation)` pairs with the description and few-shot examples
/// put before each context (lm-eval's `fewshot_context`: description, then examples joined and
/// followed by `"\n\n"`). At most `limit` docs. Few-shot examples are the first ones of
/// `pool` in the doc's group, or of `docs` itself (minus the doc) when `pool` is `None`.
pub fn build_prompts(
    docs: &[Doc],
    pool: Option<&[Doc]>,
    shots: usize,
    limit: usize,
) -> Result<Vec<Vec<(String, String)>>> {
    let same_file = pool.is_none();
    let pool = pool.unwrap_or(docs);
    let mut out = Vec::new();
    for (i, doc) in docs.iter().enumerate().take(limit) {
        let mut prefix = doc.description.clone();
        if shots > 0 {
            let examples: Vec<&str> = pool
                .iter()
                .enumerate()
                .filter(|(j, d)| d.group == doc.group && !(same_file && *j == i))
                .take(shots)
                .map(|(_, d)| d.solved.as_str())
                .collect();
            if examples.len() < shots {
                return Err(Error::Invalid(format!(
                    "item {}: only {} few-shot examples available, {shots} asked",
                    i + 1,
                    examples.len()
                )));
            }
            for e in examples {
                prefix.push_str(e);
                prefix.push_str("\n\n");
            }
        }
        out.push(
            doc.requests
                .iter()
                .map(|(c, k)| (format!("{prefix}{c}"), k.clone()))
                .collect(),
        );
    }
    Ok(out)
}

/// lm-eval's `_encode_pair` (causal models) plus its empty-context rule.
pub fn encode_pair(tok: &Tokenizer, context: &str, continuation: &str) -> (Vec<u32>, Vec<u32>) {
    if context.is_empty() {
        let cont = tok.encode(continuation, false, true);
        let prefix = tok.bos_id().or(tok.eos_id()).unwrap_or(0);
        return if cont.first() == Some(&prefix) {
            (cont[..1].to_vec(), cont[1..].to_vec())
        } else {
            (vec![prefix], cont)
        };
    }
    let trimmed = context.trim_end();
    let (context, continuation) = if trimmed.len() < context.len() {
        (
            trimmed,
            format!("{}{continuation}", &context[trimmed.len()..]),
        )
    } else {
        (context, continuation.to_string())
    };
    let whole = tok.encode(&format!("{context}{continuation}"), true, true);
    let ctx = tok.encode(context, true, true);
    let cont = whole.get(ctx.len()..).unwrap_or(&[]).to_vec();
    (ctx, cont)
}

/// lm-eval's left truncation: keep the last `max_len + 1` tokens of context + continuation.
fn truncate_left(
    mut context: Vec<u32>,
    continuation: Vec<u32>,
    max_len: usize,
) -> std::result::Result<LoglikelihoodRequest, String> {
    if continuation.is_empty() {
        return Err("the continuation encodes to no tokens".into());
    }
    if continuation.len() > max_len {
        return Err(format!(
            "the continuation has {} tokens, the model's context is {max_len}",
            continuation.len()
        ));
    }
    let total = context.len() + continuation.len();
    if total > max_len + 1 {
        context.drain(..total - (max_len + 1));
    }
    Ok(LoglikelihoodRequest {
        context,
        continuation,
    })
}

/// Index of the first largest value (numpy's `argmax`).
fn argmax(xs: impl Iterator<Item = f64>) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, x) in xs.enumerate() {
        if x > best.1 || (i == 0 && x.is_nan()) {
            best = (i, x);
        }
    }
    best.0
}

/// The task's metrics from per-doc scores.
fn task_metrics(task: Task, docs: &[Doc], scores: &[DocScore]) -> Vec<Metric> {
    if task == Task::Lambada {
        let acc: Vec<f64> = scores
            .iter()
            .map(|s| f64::from(u8::from(s.is_greedy.first() == Some(&true))))
            .collect();
        let ll: Vec<f64> = scores
            .iter()
            .map(|s| s.loglikelihoods.first().copied().unwrap_or(f64::NAN))
            .collect();
        let (acc, acc_se) = mean_stderr(&acc);
        let (mean_ll, ll_se) = mean_stderr(&ll);
        let ppl = (-mean_ll).exp();
        // lm-eval bootstraps this error; the delta method gives the same quantity without
        // resampling: d exp(-m) = exp(-m) · dm.
        return vec![
            Metric::new("acc", acc, acc_se, true),
            Metric::new("perplexity", ppl, ll_se.map(|s| s * ppl), false),
        ];
    }
    let mut acc = Vec::with_capacity(scores.len());
    let mut acc_norm = Vec::with_capacity(scores.len());
    for (doc, s) in docs.iter().zip(scores) {
        let pred = argmax(s.loglikelihoods.iter().copied());
        let pred_norm = argmax(
            s.loglikelihoods
                .iter()
                .zip(&doc.choice_chars)
                .map(|(ll, &n)| ll / n as f64),
        );
        acc.push(f64::from(u8::from(pred == s.gold)));
        acc_norm.push(f64::from(u8::from(pred_norm == s.gold)));
    }
    let (a, a_se) = mean_stderr(&acc);
    let (n, n_se) = mean_stderr(&acc_norm);
    let mut out = vec![Metric::new("acc", a, a_se, true)];
    if task.metric_names().contains(&"acc_norm") {
        out.push(Metric::new("acc_norm", n, n_se, true));
    }
    out
}

/// Builds a doc from one data item.
fn doc_from_item(task: Task, item: &Item) -> Result<Doc> {
    let doc = match task {
        Task::Hellaswag => hellaswag(item)?,
        Task::ArcEasy | Task::ArcChallenge => arc(item)?,
        Task::Piqa => piqa(item)?,
        Task::Winogrande => winogrande(item)?,
        Task::Lambada => lambada(item)?,
        Task::Mmlu => mmlu(item)?,
    };
    if doc.gold >= doc.requests.len() {
        return Err(item.error(format!(
            "gold answer {} is out of range for {} choices",
            doc.gold,
            doc.requests.len()
        )));
    }
    Ok(doc)
}

/// A doc whose choices all continue one context after `" "` (lm-eval's default
/// `target_delimiter`).
fn shared_context(context: String, choices: Vec<String>, gold: usize, item: &Item) -> Result<Doc> {
    if choices.is_empty() {
        return Err(item.error("no choices"));
    }
    let solved = match choices.get(gold) {
        Some(answer) => format!("{context} {answer}"),
        None => String::new(),
    };
    Ok(Doc {
        requests: choices
            .iter()
            .map(|c| (context.clone(), format!(" {c}")))
            .collect(),
        choice_chars: choices.iter().map(|c| c.chars().count()).collect(),
        gold,
        solved,
        description: String::new(),
        group: String::new(),
    })
}

/// `query`/`choices`/`gold` (llm-foundry) fields.
fn foundry(item: &Item) -> Result<(String, Vec<String>, usize)> {
    Ok((
        item.str("query")?.to_string(),
        item.str_list("choices")?,
        item.index("gold")?,
    ))
}

fn hellaswag(item: &Item) -> Result<Doc> {
    if item.has("query") {
        let (query, choices, gold) = foundry(item)?;
        return shared_context(query, choices, gold, item);
    }
    let ctx = format!(
        "{} {}",
        item.str("ctx_a")?,
        python_capitalize(item.str("ctx_b")?)
    );
    let query = hellaswag_preprocess(&format!("{}: {ctx}", item.str("activity_label")?));
    let choices = item
        .str_list("endings")?
        .iter()
        .map(|e| hellaswag_preprocess(e))
        .collect();
    shared_context(query, choices, item.index("label")?, item)
}

/// lm-eval's `hellaswag/utils.py::preprocess`.
pub fn hellaswag_preprocess(text: &str) -> String {
    let text = text.trim().replace(" [title]", ". ");
    // re.sub("\\[.*?\\]", "", text): the shortest bracketed span on one line.
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find('[') {
        let after = &rest[i + 1..];
        let line = &after[..after.find('\n').unwrap_or(after.len())];
        match line.find(']') {
            Some(j) => {
                out.push_str(&rest[..i]);
                rest = &after[j + 1..];
            }
            None => {
                out.push_str(&rest[..=i]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.replace("  ", " ")
}

/// Python's `str.capitalize`: the first character upper-cased, the rest lower-cased.
fn python_capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        None => String::new(),
        Some(first) => first
            .to_uppercase()
            .chain(chars.as_str().to_lowercase().chars())
            .collect(),
    }
}

fn arc(item: &Item) -> Result<Doc> {
    if item.has("query") {
        let (query, choices, gold) = foundry(item)?;
        return shared_context(format!("{query}\nAnswer:"), choices, gold, item);
    }
    // Hugging Face allenai/ai2_arc: question, choices {text, label}, answerKey.
    let question = item.str("question")?;
    let choices = item
        .value("choices")
        .ok_or_else(|| item.error("missing field `choices`"))?;
    let texts = string_list(choices.get("text")).ok_or_else(|| item.error("bad `choices.text`"))?;
    let labels =
        string_list(choices.get("label")).ok_or_else(|| item.error("bad `choices.label`"))?;
    let key = item.str("answerKey")?;
    let gold = labels
        .iter()
        .position(|l| l == key)
        .ok_or_else(|| item.error(format!("answerKey {key:?} is not a choice label")))?;
    shared_context(format!("Question: {question}\nAnswer:"), texts, gold, item)
}

fn string_list(v: Option<&serde_json::Value>) -> Option<Vec<String>> {
    v?.as_array()?
        .iter()
        .map(|x| x.as_str().map(str::to_string))
        .collect()
}

fn piqa(item: &Item) -> Result<Doc> {
    if item.has("query") {
        // llm-foundry's query is "Question: {goal}\n".
        let (query, choices, gold) = foundry(item)?;
        let query = query.strip_suffix('\n').unwrap_or(&query);
        return shared_context(format!("{query}\nAnswer:"), choices, gold, item);
    }
    let goal = item.str("goal")?;
    let choices = vec![item.str("sol1")?.to_string(), item.str("sol2")?.to_string()];
    shared_context(
        format!("Question: {goal}\nAnswer:"),
        choices,
        item.index("label")?,
        item,
    )
}

fn winogrande(item: &Item) -> Result<Doc> {
    let (contexts, continuation, gold) = if item.has("context_options") {
        (
            item.str_list("context_options")?,
            item.str("continuation")?.to_string(),
            item.index("gold")?,
        )
    } else {
        // Hugging Face allenai/winogrande: sentence with `_`, option1, option2, answer "1"/"2".
        let sentence = item.str("sentence")?;
        let idx = sentence
            .find('_')
            .ok_or_else(|| item.error("`sentence` has no `_`"))?;
        let options = [item.str("option1")?, item.str("option2")?];
        let answer = item.index("answer")?;
        if !(1..=2).contains(&answer) {
            return Err(item.error("`answer` must be \"1\" or \"2\""));
        }
        (
            options
                .iter()
                .map(|o| format!("{}{o}", &sentence[..idx]))
                .collect(),
            sentence[idx + 1..].trim().to_string(),
            answer - 1,
        )
    };
    if contexts.is_empty() {
        return Err(item.error("no context options"));
    }
    let solved = contexts
        .get(gold)
        .map(|c| format!("{c} {continuation}"))
        .unwrap_or_default();
    Ok(Doc {
        choice_chars: contexts.iter().map(|c| c.chars().count()).collect(),
        requests: contexts
            .into_iter()
            .map(|c| (c, format!(" {continuation}")))
            .collect(),
        gold,
        solved,
        description: String::new(),
        group: String::new(),
    })
}

fn lambada(item: &Item) -> Result<Doc> {
    let (context, word) = if item.has("context") {
        (
            item.str("context")?.to_string(),
            item.str("continuation")?.to_string(),
        )
    } else {
        let text = item.str("text")?;
        match text.rsplit_once(' ') {
            Some((c, w)) => (c.to_string(), w.to_string()),
            None => (String::new(), text.to_string()),
        }
    };
    let continuation = format!(" {word}");
    Ok(Doc {
        // lm-eval's few-shot turn is text + target_delimiter + target, and LAMBADA's target
        // already starts with its space: two spaces.
        solved: format!("{context} {continuation}"),
        choice_chars: vec![continuation.chars().count()],
        requests: vec![(context, continuation)],
        gold: 0,
        description: String::new(),
        group: String::new(),
    })
}

fn mmlu(item: &Item) -> Result<Doc> {
    let question = item.str("question")?;
    let choices = item.str_list("choices")?;
    if choices.len() != 4 {
        return Err(item.error(format!("MMLU needs 4 choices, got {}", choices.len())));
    }
    let gold = match item.value("answer") {
        Some(serde_json::Value::String(s)) if matches!(s.as_str(), "A" | "B" | "C" | "D") => {
            usize::from(s.as_bytes()[0] - b'A')
        }
        _ => item.index("answer")?,
    };
    let subject = match item.value("subject") {
        Some(serde_json::Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let text = format!(
        "{}\nA. {}\nB. {}\nC. {}\nD. {}\nAnswer:",
        question.trim(),
        choices[0],
        choices[1],
        choices[2],
        choices[3]
    );
    let letters: Vec<String> = ["A", "B", "C", "D"].map(String::from).to_vec();
    let mut doc = shared_context(text, letters, gold, item)?;
    if !subject.is_empty() {
        doc.description = format!(
            "The following are multiple choice questions (with answers) about {}.\n\n",
            subject.replace('_', " ")
        );
    }
    doc.group = subject;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hellaswag_preprocess_matches_lm_eval() {
        assert_eq!(
            hellaswag_preprocess(" Fix a tire [title] Remove the wheel. [step] Jack it up.  "),
            "Fix a tire. Remove the wheel. Jack it up."
        );
        assert_eq!(hellaswag_preprocess("a [b\nc] d"), "a [b\nc] d");
        assert_eq!(hellaswag_preprocess("x [y"), "x [y");
    }

    #[test]
    fn capitalize_lowers_the_rest() {
        assert_eq!(python_capitalize("a Few WOMEN"), "A few women");
        assert_eq!(python_capitalize(""), "");
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax([1.0, 3.0, 3.0].into_iter()), 1);
        assert_eq!(argmax([-2.0, -1.0].into_iter()), 1);
    }

    #[test]
    fn truncation_keeps_the_last_tokens() {
        let r = truncate_left(vec![1, 2, 3, 4], vec![5, 6], 4).unwrap();
        assert_eq!(r.context, vec![2, 3, 4]);
        assert!(truncate_left(vec![1], vec![], 4).is_err());
        assert!(truncate_left(vec![1], vec![1; 5], 4).is_err());
    }

    #[test]
    fn task_names_round_trip() {
        for t in Task::ALL {
            assert_eq!(Task::from_name(t.name()), Some(t));
        }
        assert_eq!(Task::from_name("nope"), None);
    }
}
