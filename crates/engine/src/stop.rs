//! Stop strings across token boundaries. Generated text arrives in pieces that need not line
//! up with a stop string (`"\n\n"` may come as `"\n"` then `"\nThe"`), so `StopMatcher` holds
//! back the longest tail of the text that could still grow into a stop string and releases it
//! once it cannot. When a stop string completes, the text before it is released and the rest
//! is dropped, as OpenAI's API does (the stop string is not part of the output).
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

/// What one `push` produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StopOutput {
    /// Text that is final and can be sent.
    pub text: String,
    /// A stop string was found; nothing more should be generated.
    pub stopped: bool,
}

/// Incremental stop-string search over streamed text.
#[derive(Debug, Clone, Default)]
pub struct StopMatcher {
    stops: Vec<String>,
    /// Text not yet released because it may be the start of a stop string.
    held: String,
    done: bool,
}

impl StopMatcher {
    /// A matcher for `stops`; empty strings are ignored.
    pub fn new(stops: &[String]) -> Self {
        Self {
            stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(),
            held: String::new(),
            done: false,
        }
    }

    /// Feeds the next piece of text.
    pub fn push(&mut self, text: &str) -> StopOutput {
        if self.done {
            return StopOutput {
                text: String::new(),
                stopped: true,
            };
        }
        if self.stops.is_empty() {
            return StopOutput {
                text: text.to_string(),
                stopped: false,
            };
        }
        self.held.push_str(text);
        // The earliest complete stop string wins.
        let hit = self.stops.iter().filter_map(|s| self.held.find(s)).min();
        if let Some(at) = hit {
            self.done = true;
            let out = self.held[..at].to_string();
            self.held.clear();
            return StopOutput {
                text: out,
                stopped: true,
            };
        }
        // Hold back the longest suffix that is a proper prefix of some stop string.
        let keep = self
            .stops
            .iter()
            .map(|s| longest_suffix_prefix(&self.held, s))
            .max()
            .unwrap_or(0);
        let cut = self.held.len() - keep;
        let out = self.held[..cut].to_string();
        self.held.drain(..cut);
        StopOutput {
            text: out,
            stopped: false,
        }
    }

    /// Releases whatever is held (generation ended for another reason).
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

/// Length in bytes of the longest suffix of `text` that is a proper prefix of `stop`, at a
/// character boundary of both.
fn longest_suffix_prefix(text: &str, stop: &str) -> usize {
    let max = text.len().min(stop.len().saturating_sub(1));
    (1..=max)
        .rev()
        .find(|&n| {
            let start = text.len() - n;
            text.is_char_boundary(start) && stop.is_char_boundary(n) && stop[..n] == text[start..]
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (String, bool) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut m = StopMatcher::new(&stops);
        let mut out = String::new();
        for p in pieces {
            let o = m.push(p);
            out.push_str(&o.text);
            if o.stopped {
                return (out, true);
            }
        }
        out.push_str(&m.finish());
        (out, false)
    }

    #[test]
    fn stop_across_pieces() {
        assert_eq!(
            run(&["\n\n"], &["Hello", "\n", "\nWorld"]),
            ("Hello".into(), true)
        );
        assert_eq!(
            run(&["cat"], &["the c", "a", "t sat"]),
            ("the ".into(), true)
        );
        assert_eq!(run(&["xyz"], &["ab", "xy", "q"]), ("abxyq".into(), false));
        assert_eq!(run(&[], &["a", "b"]), ("ab".into(), false));
        assert_eq!(run(&["b", "ab"], &["xab"]), ("x".into(), true));
    }

    #[test]
    fn holds_back_only_possible_prefixes() {
        let mut m = StopMatcher::new(&["END".to_string()]);
        assert_eq!(m.push("abcE").text, "abc");
        assert_eq!(m.push("N").text, "");
        assert_eq!(m.push("x").text, "ENx");
        assert_eq!(m.push("é").text, "é");
    }
}
