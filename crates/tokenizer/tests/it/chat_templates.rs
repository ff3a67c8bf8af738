//! Chat templates: every template in `fixtures/chat-templates/` rendered on the conversations
//! of `expected.json` must equal, byte for byte, what transformers' `apply_chat_template`
//! rendered (`scripts/reference/chat_templates.py`); a conversation the template refuses must be
//! refused here too (except for Python's "None is not iterable", see `check`). The built-in Llama 4 and plain templates are checked against literals.

use std::path::Path;

use serde_json::Value;
use tokenizer::{builtin_llama4_template, builtin_plain_template, ChatMessage, ChatTemplate};

use crate::FIXTURES;

/// Renders one expected case; returns a description of the difference, if any.
fn check(template: &ChatTemplate, label: &str, case: &Value) -> Option<String> {
    let messages: Vec<ChatMessage> = case["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            ChatMessage::new(
                m["role"].as_str().expect("role"),
                m["content"].as_str().expect("content"),
            )
        })
        .collect();
    let add_generation_prompt = case["add_generation_prompt"].as_bool().expect("flag");
    let got = template.render(&messages, add_generation_prompt);
    // Where Python refused only because `tools` is none (minijinja iterates none as empty), the
    // generator recorded the output for an empty tool list.
    let want = case
        .get("output")
        .or_else(|| case.get("output_empty_tools"))
        .and_then(Value::as_str);
    match (want, got) {
        (Some(want), Ok(got)) if got == want => None,
        (Some(want), Ok(got)) => Some(format!("{label}:\n  want {want:?}\n  got  {got:?}")),
        (Some(_), Err(e)) => Some(format!("{label}: failed: {e}")),
        (None, Ok(got)) => Some(format!(
            "{label}: transformers refused ({}), we rendered {got:?}",
            case["error"]
        )),
        (None, Err(_)) => None,
    }
}

#[test]
fn templates_render_like_transformers() {
    let dir = Path::new(FIXTURES).join("chat-templates");
    let expected: Value = serde_json::from_slice(
        &std::fs::read(dir.join("expected.json")).expect("read expected.json"),
    )
    .expect("expected.json parses");
    let (mut total, mut diffs) = (0, Vec::new());
    for entry in expected["templates"].as_array().expect("templates") {
        let file = entry["file"].as_str().expect("file");
        let source = std::fs::read_to_string(dir.join(file)).expect("read template");
        let template = ChatTemplate::with_date(
            &source,
            entry["bos_token"].as_str().expect("bos"),
            entry["eos_token"].as_str().expect("eos"),
            Some((2024, 7, 26)),
        )
        .unwrap_or_else(|e| panic!("{file} compiles: {e}"));
        for case in entry["cases"].as_array().expect("cases") {
            total += 1;
            let label = format!("{file} / {}", case["name"].as_str().unwrap_or("?"));
            diffs.extend(check(&template, &label, case));
        }
    }
    println!(
        "chat templates: {}/{total} cases agree with transformers",
        total - diffs.len()
    );
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    assert!(total >= 48);
}

#[test]
fn builtin_llama4_matches_the_spec() {
    let template = ChatTemplate::new(builtin_llama4_template(), "<|begin_of_text|>", "<|eot|>")
        .expect("compiles");
    let messages = [
        ChatMessage::new("system", "Be brief."),
        ChatMessage::new("user", "Hi"),
    ];
    assert_eq!(
        template.render(&messages, true).unwrap(),
        "<|begin_of_text|><|header_start|>system<|header_end|>\n\nBe brief.<|eot|>\
         <|header_start|>user<|header_end|>\n\nHi<|eot|><|header_start|>assistant<|header_end|>\n\n"
    );
    let messages = [
        ChatMessage::new("user", "Hi"),
        ChatMessage::new("assistant", "Hello."),
    ];
    assert_eq!(
        template.render(&messages, false).unwrap(),
        "<|begin_of_text|><|header_start|>user<|header_end|>\n\nHi<|eot|>\
         <|header_start|>assistant<|header_end|>\n\nHello.<|eot|>"
    );
}

#[test]
fn builtin_plain_format() {
    let template = ChatTemplate::new(builtin_plain_template(), "", "").expect("compiles");
    let messages = [
        ChatMessage::new("system", "A story."),
        ChatMessage::new("user", "Once"),
        ChatMessage::new("assistant", "upon a time"),
        ChatMessage::new("user", "More"),
    ];
    assert_eq!(
        template.render(&messages, true).unwrap(),
        "A story.\nUser: Once\nAssistant: upon a time\nUser: More\nAssistant:"
    );
}

#[test]
fn template_errors_are_reported_not_panics() {
    let err = ChatTemplate::new("{% for %}", "", "").unwrap_err();
    assert!(err.to_string().contains("chat template"), "{err}");
    let template = ChatTemplate::new("{{ raise_exception('no system role') }}", "", "").unwrap();
    let err = template.render(&[], false).unwrap_err();
    assert!(err.to_string().contains("no system role"), "{err}");
    // A template that would run for hours stops with an error.
    let template = ChatTemplate::new(
        "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
        "",
        "",
    )
    .unwrap();
    let started = std::time::Instant::now();
    assert!(template.render(&[], false).is_err());
    println!("runaway template stopped after {:?}", started.elapsed());
    let template = ChatTemplate::new("{{ messages[0].content.strip() | tojson }}", "", "").unwrap();
    assert_eq!(
        template
            .render(&[ChatMessage::new("user", "  \"é\"\n ")], false)
            .unwrap(),
        "\"\\\"é\\\"\""
    );
}

/// The conversation `[system, user]` through `tokenizer`'s own template choice, as ids.
fn chat_ids(tokenizer: &tokenizer::Tokenizer, template: &ChatTemplate) -> Vec<u32> {
    let messages = [
        ChatMessage::new("system", "Be brief."),
        ChatMessage::new("user", "Hi"),
    ];
    tokenizer.encode_chat(&template.render(&messages, true).expect("renders"))
}

#[test]
fn llama4_vocabulary_gets_the_builtin_template_and_one_bos() {
    let Some(t) = crate::meta_tokenizer("meta-llama4-tokenizer") else {
        return;
    };
    let template = ChatTemplate::for_tokenizer(t).expect("template");
    let ids = chat_ids(t, &template);
    let nl2 = t.encode("\n\n", false, false);
    let mut want = vec![200_000, 200_005];
    want.extend(t.encode("system", false, false));
    want.push(200_006);
    want.extend(&nl2);
    want.extend(t.encode("Be brief.", false, false));
    want.extend([200_008, 200_005]);
    want.extend(t.encode("user", false, false));
    want.push(200_006);
    want.extend(&nl2);
    want.extend(t.encode("Hi", false, false));
    want.extend([200_008, 200_005]);
    want.extend(t.encode("assistant", false, false));
    want.push(200_006);
    want.extend(&nl2);
    assert_eq!(ids, want);
}

#[test]
fn llama3_template_gives_one_bos() {
    let Some(t) = crate::meta_tokenizer("meta-llama3-tokenizer") else {
        return;
    };
    let source = std::fs::read_to_string(
        Path::new(FIXTURES).join("chat-templates/meta-llama-Llama-3.1-8B-Instruct.jinja"),
    )
    .expect("read template");
    let template = ChatTemplate::new(&source, "<|begin_of_text|>", "<|eot_id|>").unwrap();
    let ids = chat_ids(t, &template);
    assert_eq!(&ids[..2], &[128_000, 128_006]);
    assert_eq!(ids.iter().filter(|&&id| id == 128_000).count(), 1);
    assert_eq!(ids.iter().filter(|&&id| id == 128_009).count(), 2);
    // Without a template in the text, BOS is still added once.
    assert_eq!(t.encode_chat("Hi")[0], 128_000);
    assert_eq!(t.encode_chat("Hi").len(), 2);
}

#[test]
fn stories260k_gets_the_plain_template() {
    let t = crate::load(&Path::new(FIXTURES).join("stories260K/stories260K.gguf"));
    let template = ChatTemplate::for_tokenizer(&t).expect("template");
    let ids = chat_ids(&t, &template);
    assert_eq!(ids[0], 1);
    assert_ne!(ids[1], 1);
    assert_eq!(t.decode(&ids, true), "Be brief.\nUser: Hi\nAssistant:");
}
