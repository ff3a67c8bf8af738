//! Token sampling: plain-data `SamplingParams` and a fixed pipeline over one step's logits,
//! repetition penalty → temperature → top-k → top-p → min-p → draw, with a seeded generator
//! per sequence so that the same seed gives the same text. Temperature 0 is greedy (argmax,
//! ties to the lowest id). The order follows Hugging Face and vLLM (temperature before the
//! truncations), so top-p sees the tempered distribution.

/// How to pick the next token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingParams {
    /// Softmax temperature; 0 means greedy.
    pub temperature: f32,
    /// Keep only the k most likely tokens; 0 disables.
    pub top_k: usize,
    /// Keep the smallest set of most likely tokens whose probability reaches p; 1 disables.
    pub top_p: f32,
    /// Drop tokens less likely than min_p × the most likely one; 0 disables.
    pub min_p: f32,
    /// Divide positive (multiply negative) logits of recently seen tokens by this; 1 disables.
    pub repeat_penalty: f32,
    /// How many recent tokens the repetition penalty looks at.
    pub repeat_last_n: usize,
    /// Seed of the random generator.
    pub seed: u64,
}

impl Default for SamplingParams {
    /// llama.cpp's defaults: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no penalty.
    fn default() -> Self {
        Self {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            seed: 0,
        }
    }
}

impl SamplingParams {
    /// Greedy decoding.
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            ..Self::default()
        }
    }

    /// Checks ranges; the message names the parameter.
    pub fn validate(&self) -> Result<(), String> {
        let check = |ok: bool, what: &str| if ok { Ok(()) } else { Err(what.to_string()) };
        check(
            self.temperature >= 0.0 && self.temperature.is_finite(),
            "temperature must be ≥ 0",
        )?;
        check(
            self.top_p > 0.0 && self.top_p <= 1.0,
            "top-p must be in (0, 1]",
        )?;
        check((0.0..=1.0).contains(&self.min_p), "min-p must be in [0, 1]")?;
        check(
            self.repeat_penalty > 0.0 && self.repeat_penalty.is_finite(),
            "repeat penalty must be > 0",
        )
    }
}

/// SplitMix64-seeded xoshiro256** generator: small, fast and reproducible across platforms.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator seeded from `seed`.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Self {
            s: [next(), next(), next(), next()],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Samples tokens for one sequence.
#[derive(Debug, Clone)]
pub struct Sampler {
    params: SamplingParams,
    rng: Rng,
}

impl Sampler {
    /// A sampler with its own generator seeded from `params.seed`.
    pub fn new(params: SamplingParams) -> Self {
        Self {
            rng: Rng::new(params.seed),
            params,
        }
    }

    /// The parameters.
    pub fn params(&self) -> &SamplingParams {
        &self.params
    }

    /// Picks the next token from `logits` (modified in place by the penalty) given the tokens
    /// of the sequence so far.
    pub fn sample(&mut self, logits: &mut [f32], history: &[u32]) -> u32 {
        let p = self.params;
        if p.repeat_penalty != 1.0 {
            apply_repeat_penalty(logits, history, p.repeat_penalty, p.repeat_last_n);
        }
        if p.temperature <= 0.0 {
            return argmax(logits);
        }
        // Candidates sorted by logit, descending; ties keep the lower id first.
        let mut cands: Vec<(u32, f32)> = logits
            .iter()
            .enumerate()
            .map(|(i, &l)| (i as u32, l / p.temperature))
            .collect();
        let by_logit = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if p.top_k > 0 && p.top_k < cands.len() {
            cands.select_nth_unstable_by(p.top_k - 1, by_logit);
            cands.truncate(p.top_k);
        }
        cands.sort_unstable_by(by_logit);
        // Softmax over the survivors.
        let max = cands[0].1;
        let mut probs: Vec<f64> = cands.iter().map(|c| ((c.1 - max) as f64).exp()).collect();
        let total: f64 = probs.iter().sum();
        probs.iter_mut().for_each(|q| *q /= total);
        let mut keep = probs.len();
        if p.top_p < 1.0 {
            let mut cum = 0.0;
            for (i, &q) in probs.iter().enumerate() {
                cum += q;
                if cum >= p.top_p as f64 {
                    keep = i + 1;
                    break;
                }
            }
        }
        if p.min_p > 0.0 {
            let threshold = probs[0] * p.min_p as f64;
            keep = keep.min(probs.iter().take_while(|&&q| q >= threshold).count().max(1));
        }
        let total: f64 = probs[..keep].iter().sum();
        let mut r = self.rng.next_f64() * total;
        for (i, &q) in probs[..keep].iter().enumerate() {
            if r < q {
                return cands[i].0;
            }
            r -= q;
        }
        cands[keep - 1].0
    }
}

/// Index of the largest logit; the lowest index among equals.
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// llama.cpp's repetition penalty: each distinct token among the last `last_n` has its logit
/// divided by `penalty` when positive and multiplied by it when negative.
fn apply_repeat_penalty(logits: &mut [f32], history: &[u32], penalty: f32, last_n: usize) {
    let recent = &history[history.len().saturating_sub(last_n)..];
    let mut seen = std::collections::HashSet::new();
    for &id in recent {
        if let Some(l) = logits.get_mut(id as usize) {
            if seen.insert(id) {
                *l = if *l > 0.0 { *l / penalty } else { *l * penalty };
            }
        }
    }
}

/// OpenAI's presence and frequency penalties: every token seen `c > 0` times among the
/// generated tokens loses `presence + c · frequency` from its logit (vLLM counts generated
/// tokens only, not the prompt). Applied before temperature, like the repetition penalty.
pub fn apply_presence_frequency(
    logits: &mut [f32],
    counts: &std::collections::HashMap<u32, u32>,
    presence: f32,
    frequency: f32,
) {
    if presence == 0.0 && frequency == 0.0 {
        return;
    }
    for (&id, &c) in counts {
        if let Some(l) = logits.get_mut(id as usize) {
            *l -= presence + c as f32 * frequency;
        }
    }
}

/// The log-probability of `token` under the softmax of `logits`, and the `top` most likely
/// tokens with theirs (best first, ties to the lower id). Computed on the raw logits, before any
/// penalty or temperature, as OpenAI and vLLM report them.
pub fn token_logprob(logits: &[f32], token: u32, top: usize) -> crate::request::TokenLogprob {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits.iter().map(|&l| ((l - max) as f64).exp()).sum();
    let log_z = max as f64 + sum.ln();
    let lp = |l: f32| (l as f64 - log_z) as f32;
    let logprob = logits
        .get(token as usize)
        .map_or(f32::NEG_INFINITY, |&l| lp(l));
    let top = top.min(logits.len());
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(top + 1);
    if top > 0 {
        for (i, &l) in logits.iter().enumerate() {
            if best.len() == top && best[top - 1].1 >= l {
                continue;
            }
            let at = best.partition_point(|&(_, b)| b >= l);
            best.insert(at, (i as u32, l));
            best.truncate(top);
        }
    }
    crate::request::TokenLogprob {
        token,
        logprob,
        top: best.into_iter().map(|(i, l)| (i, lp(l))).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(temperature: f32) -> SamplingParams {
        SamplingParams {
            temperature,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            ..Default::default()
        }
    }

    #[test]
    fn greedy_takes_the_first_maximum() {
        let mut s = Sampler::new(SamplingParams::greedy());
        assert_eq!(s.sample(&mut [0.1, 3.0, 3.0, -1.0], &[]), 1);
    }

    #[test]
    fn same_seed_same_tokens_and_different_seed_differs() {
        let logits: Vec<f32> = (0..50).map(|i| (i as f32 * 0.37).sin()).collect();
        let run = |seed| {
            let mut s = Sampler::new(SamplingParams {
                seed,
                ..params(1.0)
            });
            (0..64)
                .map(|_| s.sample(&mut logits.clone(), &[]))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    #[test]
    fn top_k_one_is_greedy() {
        let mut s = Sampler::new(SamplingParams {
            top_k: 1,
            ..params(5.0)
        });
        for _ in 0..20 {
            assert_eq!(s.sample(&mut [1.0, 2.0, 0.5], &[]), 1);
        }
    }

    #[test]
    fn top_p_keeps_the_smallest_sufficient_set() {
        // Probabilities ≈ [0.665, 0.245, 0.09]: top-p 0.6 keeps only the first.
        let mut s = Sampler::new(SamplingParams {
            top_p: 0.6,
            ..params(1.0)
        });
        for _ in 0..50 {
            assert_eq!(s.sample(&mut [2.0, 1.0, 0.0], &[]), 0);
        }
        // top-p 0.9 keeps the first two and never the third.
        let mut s = Sampler::new(SamplingParams {
            top_p: 0.9,
            ..params(1.0)
        });
        let picks: Vec<u32> = (0..200)
            .map(|_| s.sample(&mut [2.0, 1.0, 0.0], &[]))
            .collect();
        assert!(picks.contains(&1) && !picks.contains(&2));
    }

    #[test]
    fn min_p_drops_unlikely_tokens() {
        // p ≈ [0.665, 0.245, 0.09]; min-p 0.2 → threshold 0.133 drops the third.
        let mut s = Sampler::new(SamplingParams {
            min_p: 0.2,
            ..params(1.0)
        });
        let picks: Vec<u32> = (0..300)
            .map(|_| s.sample(&mut [2.0, 1.0, 0.0], &[]))
            .collect();
        assert!(picks.contains(&1) && !picks.contains(&2));
    }

    #[test]
    fn sampling_frequencies_follow_softmax() {
        let mut s = Sampler::new(SamplingParams {
            seed: 7,
            ..params(1.0)
        });
        let n = 20_000;
        let ones = (0..n)
            .filter(|_| s.sample(&mut [0.0, (3.0f32).ln()], &[]) == 1)
            .count();
        let freq = ones as f64 / n as f64; // expected 0.75
        assert!((freq - 0.75).abs() < 0.015, "frequency {freq}");
    }

    #[test]
    fn repeat_penalty_as_llama_cpp() {
        let mut logits = [2.0, -2.0, 1.0];
        apply_repeat_penalty(&mut logits, &[0, 1, 0, 1], 2.0, 64);
        assert_eq!(logits, [1.0, -4.0, 1.0]);
        // Only the last n tokens count.
        let mut logits = [2.0, 2.0];
        apply_repeat_penalty(&mut logits, &[0, 1], 2.0, 1);
        assert_eq!(logits, [2.0, 1.0]);
    }

    #[test]
    fn validation_names_the_parameter() {
        let bad = SamplingParams {
            top_p: 0.0,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("top-p"));
        assert!(SamplingParams::default().validate().is_ok());
    }

    #[test]
    fn presence_and_frequency_penalties_as_openai() {
        let mut logits = [1.0, 1.0, 1.0];
        let counts = std::collections::HashMap::from([(0u32, 3u32), (2, 1)]);
        apply_presence_frequency(&mut logits, &counts, 0.5, 0.25);
        assert_eq!(logits, [-0.25, 1.0, 0.25]);
    }

    #[test]
    fn logprobs_are_a_log_softmax_with_sorted_alternatives() {
        let logits = [0.0, (3.0f32).ln(), 0.0, (3.0f32).ln()];
        let t = token_logprob(&logits, 0, 3);
        assert!((t.logprob - (1.0f32 / 8.0).ln()).abs() < 1e-6);
        let ids: Vec<u32> = t.top.iter().map(|x| x.0).collect();
        assert_eq!(ids, [1, 3, 0], "best first, ties to the lower id");
        assert!((t.top[0].1 - (3.0f32 / 8.0).ln()).abs() < 1e-6);
        assert!(token_logprob(&logits, 2, 0).top.is_empty());
    }
}
