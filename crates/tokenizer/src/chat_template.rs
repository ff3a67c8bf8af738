//! Chat templates: the Jinja templates models ship (`tokenizer_config.json` `chat_template`, GGUF
//! `tokenizer.chat_template`), rendered with `minijinja` the way Hugging Face transformers'
//! `apply_chat_template` renders them with Python `jinja2`.
//!
//! transformers' environment, mirrored here: `trim_blocks` and `lstrip_blocks`, loop controls
//! (`break`/`continue`), a `tojson` filter that is Python's `json.dumps` (no HTML escaping,
//! `ensure_ascii=False`, `indent`/`separators`/`sort_keys`), the globals `raise_exception(msg)`
//! and `strftime_now(format)`, and Python string and dict methods (`.strip()`, `.startswith()`,
//! `.items()`, … via `minijinja-contrib`'s pycompat). The context is `messages`,
//! `add_generation_prompt`, `bos_token`, `eos_token`, and `tools`/`documents` set to none.
//!
//! Two built-in templates cover models that ship none: [`builtin_llama4_template`] (Meta's
//! Llama 4 chat format) and [`builtin_plain_template`] (`User: …` / `Assistant:` lines for base
//! models such as stories260K).

use std::time::{SystemTime, UNIX_EPOCH};

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, ErrorKind};
use serde::Serialize;

use crate::{Error, Result, Tokenizer};

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant` (templates may know others, such as `ipython` or `tool`).
    pub role: String,
    /// The message text.
    pub content: String,
}

impl ChatMessage {
    /// A message with `role` and `content`.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// A compiled chat template with its BOS and EOS texts.
pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("bos_token", &self.bos_token)
            .field("eos_token", &self.eos_token)
            .finish_non_exhaustive()
    }
}

/// Template instructions one render may execute: far above what a real template needs for a
/// long conversation, far below what takes noticeable time.
const FUEL: u64 = 10_000_000;

/// The template's name inside its environment.
const NAME: &str = "chat";

impl ChatTemplate {
    /// Compiles `source`; `bos_token` and `eos_token` are the texts the template sees under
    /// those names (empty when the model has none).
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<ChatTemplate> {
        ChatTemplate::with_date(source, bos_token, eos_token, None)
    }

    /// As [`new`](Self::new), with `strftime_now` reporting midnight (UTC) of `date` (year,
    /// month 1–12, day 1–31) instead of the current time: for reproducible output.
    pub fn with_date(
        source: &str,
        bos_token: &str,
        eos_token: &str,
        date: Option<(i32, u32, u32)>,
    ) -> Result<ChatTemplate> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        // A template comes with the model file; bound its work so a hostile one cannot hang us.
        env.set_fuel(Some(FUEL));
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_filter("tojson", tojson);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", move |format: &str| -> String {
            let seconds = match date {
                Some((y, m, d)) => days_from_civil(y, m, d) * 86_400,
                None => SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64),
            };
            strftime(format, seconds)
        });
        env.add_template_owned(NAME, without_generation_tags(source))
            .map_err(template_error)?;
        Ok(ChatTemplate {
            env,
            bos_token: bos_token.to_string(),
            eos_token: eos_token.to_string(),
        })
    }

    /// The template a model's tokenizer calls for: its own, else the Llama 4 format when the
    /// vocabulary has Llama 4's header tokens, else the plain `User:`/`Assistant:` format.
    pub fn for_tokenizer(tokenizer: &Tokenizer) -> Result<ChatTemplate> {
        let text = |id: Option<u32>| {
            id.and_then(|id| tokenizer.token_text(id))
                .unwrap_or_default()
                .to_string()
        };
        let (bos, eos) = (text(tokenizer.bos_id()), text(tokenizer.eos_id()));
        let source = match tokenizer.chat_template() {
            Some(source) => source,
            None if tokenizer.token_id("<|header_start|>").is_some()
                && tokenizer.token_id("<|eot|>").is_some() =>
            {
                builtin_llama4_template()
            }
            None => builtin_plain_template(),
        };
        ChatTemplate::new(source, &bos, &eos)
    }

    /// Renders `messages`; with `add_generation_prompt` the text ends where the assistant's
    /// answer begins.
    pub fn render(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> Result<String> {
        let template = self.env.get_template(NAME).map_err(template_error)?;
        template
            .render(minijinja::context! {
                messages => messages,
                add_generation_prompt => add_generation_prompt,
                bos_token => &self.bos_token,
                eos_token => &self.eos_token,
                tools => Value::from(()),
                documents => Value::from(()),
            })
            .map_err(template_error)
    }
}

/// Meta's Llama 4 chat format (`spec/llama4.md`, chat format): BOS, then per message
/// `<|header_start|>role<|header_end|>\n\n` + content + `<|eot|>`, then an open assistant header.
/// Contents are not trimmed (as Meta's reference code); a system message is emitted only when
/// given.
pub fn builtin_llama4_template() -> &'static str {
    concat!(
        "{{ bos_token }}",
        "{% for message in messages %}",
        "{{ '<|header_start|>' + message['role'] + '<|header_end|>\\n\\n' + message['content'] + '<|eot|>' }}",
        "{% endfor %}",
        "{% if add_generation_prompt %}{{ '<|header_start|>assistant<|header_end|>\\n\\n' }}{% endif %}",
    )
}

/// A plain format for base models without a template: an optional system line, then
/// `User: …` and `Assistant: …` lines; the generation prompt is `Assistant:`.
pub fn builtin_plain_template() -> &'static str {
    concat!(
        "{{ bos_token }}",
        "{% for message in messages %}",
        "{% if message['role'] == 'system' %}{{ message['content'] + '\\n' }}",
        "{% elif message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\\n' }}",
        "{% else %}{{ 'Assistant: ' + message['content'] + '\\n' }}{% endif %}",
        "{% endfor %}",
        "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}",
    )
}

/// transformers' `{% generation %}…{% endgeneration %}` tags (its `AssistantTracker` extension,
/// which marks the assistant's tokens for training masks) render their body unchanged; minijinja
/// does not know them, so they become `{% if true %}…{% endif %}`, whitespace control kept.
fn without_generation_tags(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(open) = rest.find("{%") {
        let Some(close) = rest[open + 2..].find("%}").map(|i| open + 2 + i) else {
            break;
        };
        let inner = &rest[open + 2..close];
        let body = inner
            .trim_start_matches(['-', '+'])
            .trim_end_matches(['-', '+']);
        let keyword = body.trim();
        out.push_str(&rest[..open + 2]);
        if keyword == "generation" || keyword == "endgeneration" {
            let lead = &inner[..inner.len() - inner.trim_start_matches(['-', '+']).len()];
            let trail = &inner[inner.trim_end_matches(['-', '+']).len()..];
            let word = if keyword == "generation" {
                "if true"
            } else {
                "endif"
            };
            out.push_str(&format!("{lead} {word} {trail}"));
        } else {
            out.push_str(inner);
        }
        out.push_str("%}");
        rest = &rest[close + 2..];
    }
    out.push_str(rest);
    out
}

fn template_error(e: minijinja::Error) -> Error {
    let mut reason = e.to_string();
    if let Some(line) = e.line() {
        if !reason.contains("line") {
            reason += &format!(" (template line {line})");
        }
    }
    Error::ChatTemplate { reason }
}

/// `raise_exception(message)`: the template refuses the conversation.
fn raise_exception(message: &str) -> std::result::Result<Value, minijinja::Error> {
    Err(minijinja::Error::new(
        ErrorKind::InvalidOperation,
        message.to_string(),
    ))
}

/// Python's `json.dumps(value, ensure_ascii=False, indent=…, separators=…, sort_keys=…)`.
fn tojson(value: &Value, kwargs: Kwargs) -> std::result::Result<Value, minijinja::Error> {
    let indent: Option<Value> = kwargs.get("indent")?;
    let separators: Option<Vec<String>> = kwargs.get("separators")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    let ensure_ascii: Option<bool> = kwargs.get("ensure_ascii")?;
    kwargs.assert_all_used()?;
    let indent = match indent {
        None => None,
        Some(v) if v.is_none() => None,
        Some(v) => match v.as_i64() {
            Some(n) => Some(" ".repeat(n.clamp(0, 64) as usize)),
            None => Some(v.as_str().unwrap_or_default().to_string()),
        },
    };
    let (item_sep, key_sep) = match separators.as_deref() {
        Some([item, key]) => (item.clone(), key.clone()),
        Some(_) => {
            return Err(minijinja::Error::new(
                ErrorKind::InvalidOperation,
                "tojson: separators must be a pair",
            ))
        }
        None if indent.is_some() => (",".to_string(), ": ".to_string()),
        None => (", ".to_string(), ": ".to_string()),
    };
    let style = JsonStyle {
        indent,
        item_sep,
        key_sep,
        sort_keys: sort_keys.unwrap_or(false),
        ensure_ascii: ensure_ascii.unwrap_or(false),
    };
    let mut out = String::new();
    style.write(value, 0, &mut out)?;
    Ok(Value::from_safe_string(out))
}

/// How Python's `json.dumps` lays out its output.
struct JsonStyle {
    indent: Option<String>,
    item_sep: String,
    key_sep: String,
    sort_keys: bool,
    ensure_ascii: bool,
}

impl JsonStyle {
    /// Writes `value`, walking sequences and maps in their own order (minijinja keeps insertion
    /// order, as Python dicts do); scalars go through serde to tell integers from floats.
    fn write(
        &self,
        value: &Value,
        level: usize,
        out: &mut String,
    ) -> std::result::Result<(), minijinja::Error> {
        match value.kind() {
            ValueKind::Seq | ValueKind::Iterable => {
                let items: Vec<Value> = value.try_iter()?.collect();
                self.write_container(('[', ']'), items.len(), level, out, |i, out| {
                    self.write(&items[i], level + 1, out)
                })
            }
            ValueKind::Map => {
                let mut entries: Vec<(String, Value)> = Vec::new();
                for key in value.try_iter()? {
                    let item = value.get_item(&key)?;
                    let key = match key.as_str() {
                        Some(k) => k.to_string(),
                        None => key.to_string(),
                    };
                    entries.push((key, item));
                }
                if self.sort_keys {
                    entries.sort_by(|a, b| a.0.cmp(&b.0));
                }
                self.write_container(('{', '}'), entries.len(), level, out, |i, out| {
                    self.write_str(&entries[i].0, out);
                    out.push_str(&self.key_sep);
                    self.write(&entries[i].1, level + 1, out)
                })
            }
            ValueKind::String => {
                self.write_str(value.as_str().unwrap_or_default(), out);
                Ok(())
            }
            _ => {
                use serde_json::Value as J;
                let scalar = serde_json::to_value(value).map_err(|e| {
                    minijinja::Error::new(ErrorKind::InvalidOperation, e.to_string())
                })?;
                match &scalar {
                    J::Number(n) => match n.as_f64() {
                        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e16 => {
                            out.push_str(&format!("{f:.1}"))
                        }
                        _ => out.push_str(&n.to_string()),
                    },
                    J::String(s) => self.write_str(s, out),
                    other => out.push_str(&other.to_string()),
                }
                Ok(())
            }
        }
    }

    /// `open`, `n` items written by `item` separated and indented as Python does, `close`.
    fn write_container(
        &self,
        (open, close): (char, char),
        n: usize,
        level: usize,
        out: &mut String,
        mut item: impl FnMut(usize, &mut String) -> std::result::Result<(), minijinja::Error>,
    ) -> std::result::Result<(), minijinja::Error> {
        out.push(open);
        if n == 0 {
            out.push(close);
            return Ok(());
        }
        for i in 0..n {
            if i > 0 {
                out.push_str(&self.item_sep);
            }
            self.newline(level + 1, out);
            item(i, out)?;
        }
        self.newline(level, out);
        out.push(close);
        Ok(())
    }

    fn newline(&self, level: usize, out: &mut String) {
        if let Some(indent) = &self.indent {
            out.push('\n');
            for _ in 0..level {
                out.push_str(indent);
            }
        }
    }

    fn write_str(&self, s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{08}' => out.push_str("\\b"),
                '\u{0C}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 || (self.ensure_ascii && (c as u32) > 0x7E) => {
                    let mut buf = [0u16; 2];
                    for unit in c.encode_utf16(&mut buf) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month.clamp(1, 12));
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day.clamp(1, 31)) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number since 1970-01-01 (Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// A subset of C `strftime` in UTC: `%d %m %Y %y %b %B %a %A %H %M %S %j %e %%`; other
/// directives are copied as written.
fn strftime(format: &str, unix_seconds: i64) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = (days + 3).rem_euclid(7) as usize;
    let month_name = MONTHS[(month as usize - 1) % 12];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str(&format!("{day:02}")),
            Some('e') => out.push_str(&format!("{day:2}")),
            Some('m') => out.push_str(&format!("{month:02}")),
            Some('Y') => out.push_str(&year.to_string()),
            Some('y') => out.push_str(&format!("{:02}", year.rem_euclid(100))),
            Some('b') => out.push_str(&month_name[..3]),
            Some('B') => out.push_str(month_name),
            Some('a') => out.push_str(&DAYS[weekday][..3]),
            Some('A') => out.push_str(DAYS[weekday]),
            Some('H') => out.push_str(&format!("{:02}", secs / 3600)),
            Some('M') => out.push_str(&format!("{:02}", secs / 60 % 60)),
            Some('S') => out.push_str(&format!("{:02}", secs % 60)),
            Some('j') => {
                let jan1 = days_from_civil(year as i32, 1, 1);
                out.push_str(&format!("{:03}", days - jan1 + 1));
            }
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_tags_render_their_body() {
        let source = "a{%- generation -%} b {%+ endgeneration %}c{% if x %}{% endif %}{{ '%}' }}";
        assert_eq!(
            without_generation_tags(source),
            "a{%- if true -%} b {%+ endif %}c{% if x %}{% endif %}{{ '%}' }}"
        );
        let t = ChatTemplate::new("{% for m in messages %}{% generation %}[{{ m.content }}]{% endgeneration %}{% endfor %}", "", "").unwrap();
        assert_eq!(
            t.render(&[ChatMessage::new("user", "hi")], false).unwrap(),
            "[hi]"
        );
    }

    #[test]
    fn dates() {
        let t = days_from_civil(2024, 7, 26) * 86_400;
        assert_eq!(strftime("%d %b %Y", t), "26 Jul 2024");
        assert_eq!(strftime("%A %B %e %j %%", t), "Friday July 26 208 %");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(days_from_civil(2000, 2, 29)), (2000, 2, 29));
    }

    #[test]
    fn python_json() {
        let t = ChatTemplate::new("{{ x | tojson }}|{{ x | tojson(indent=2) }}", "", "").unwrap();
        let env = &t.env;
        let out = env
            .get_template(NAME)
            .unwrap()
            .render(minijinja::context! { x => serde_json::json!({"a": [1, "é<"], "b": {}}) })
            .unwrap();
        assert_eq!(
            out,
            "{\"a\": [1, \"é<\"], \"b\": {}}|{\n  \"a\": [\n    1,\n    \"é<\"\n  ],\n  \"b\": {}\n}"
        );
        // Messages keep Python's key order (role, then content); floats keep their point.
        let t = ChatTemplate::new(
            "{{ messages[0] | tojson }} {{ 2.0 | tojson }} {{ messages[0] | tojson(sort_keys=true) }}",
            "",
            "",
        )
        .unwrap();
        assert_eq!(
            t.render(&[ChatMessage::new("user", "hi")], false).unwrap(),
            "{\"role\": \"user\", \"content\": \"hi\"} 2.0 {\"content\": \"hi\", \"role\": \"user\"}"
        );
    }
}
