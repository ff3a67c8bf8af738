#!/usr/bin/env python3
"""Expected chat-template renderings for crates/tokenizer's tests (developer tool; CI does not run it).

Renders every fixtures/chat-templates/*.jinja with Hugging Face transformers' own Jinja environment
(`transformers.utils.chat_template_utils.render_jinja_template`, which `apply_chat_template` uses:
trim_blocks, lstrip_blocks, loop controls, Python-json `tojson`, `raise_exception`, `strftime_now`)
on a fixed set of conversations, and writes fixtures/chat-templates/expected.json. A case the
template refuses (raise_exception, e.g. a system message for Gemma) records the error message
instead of an output (and, where the refusal is only Python's "None is not iterable" over `tools`,
the output with an empty tool list, which is what minijinja renders for none). `strftime_now` is pinned to 2024-07-26 so outputs do not depend on the day.

Usage: python3 scripts/reference/chat_templates.py   (needs: pip install transformers jinja2)
"""

import datetime
import json
import pathlib

from transformers.utils import chat_template_utils
from transformers.utils.chat_template_utils import render_jinja_template

ROOT = pathlib.Path(__file__).resolve().parents[2]
FOLDER = ROOT / "fixtures" / "chat-templates"
DATE = datetime.datetime(2024, 7, 26)


class _PinnedDatetime(datetime.datetime):
    """What transformers' `strftime_now` calls `datetime.now()` on, pinned to DATE."""

    @classmethod
    def now(cls, tz=None):
        return DATE


chat_template_utils.datetime = _PinnedDatetime

# BOS / EOS texts from each model's tokenizer_config.json.
SPECIAL = {
    "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja": ("<|begin_of_text|>", "<|im_end|>"),
    "Qwen-Qwen3-0.6B.jinja": ("", "<|im_end|>"),
    "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "google-gemma-2-2b-it.jinja": ("<bos>", "<eos>"),
    "meta-llama-Llama-3.1-8B-Instruct.jinja": ("<|begin_of_text|>", "<|eot_id|>"),
    "meta-llama-Llama-3.2-3B-Instruct.jinja": ("<|begin_of_text|>", "<|eot_id|>"),
    "meta-llama-Llama-3.3-70B-Instruct.jinja": ("<|begin_of_text|>", "<|eot_id|>"),
    "mistralai-Mistral-Nemo-Instruct-2407.jinja": ("<s>", "</s>"),
}


def msg(role, content):
    return {"role": role, "content": content}


CASES = [
    ("single_user", [msg("user", "Hello!")], True),
    ("single_user_no_prompt", [msg("user", "Hello!")], False),
    (
        "system_multi_turn",
        [
            msg("system", "You are a helpful assistant."),
            msg("user", "What is 2+2?"),
            msg("assistant", "4."),
            msg("user", "  And 3+3?  "),
        ],
        True,
    ),
    ("user_assistant", [msg("user", "Hi"), msg("assistant", "Hello there! ✨")], False),
    ("unicode_newlines", [msg("user", "Привет\n\nline two 🦙 {{ not jinja }}")], True),
    (
        "assistant_with_think",
        [
            msg("user", "Think first."),
            msg("assistant", "<think>\nhmm\n</think>\n\nDone."),
            msg("user", "Again?"),
        ],
        True,
    ),
]


def render(source, bos, eos, messages, add_generation_prompt, tools=None):
    rendered, _ = render_jinja_template(
        conversations=[messages],
        tools=tools,
        chat_template=source,
        add_generation_prompt=add_generation_prompt,
        bos_token=bos,
        eos_token=eos,
    )
    return rendered[0]


def main():
    templates = []
    for path in sorted(FOLDER.glob("*.jinja")):
        bos, eos = SPECIAL[path.name]
        source = path.read_text(encoding="utf-8")
        cases = []
        for name, messages, add_generation_prompt in CASES:
            case = {"name": name, "messages": messages, "add_generation_prompt": add_generation_prompt}
            try:
                case["output"] = render(source, bos, eos, messages, add_generation_prompt)
            except Exception as e:  # the template refused the conversation
                case["error"] = f"{type(e).__name__}: {e}"
                if "'NoneType' object is not iterable" in str(e):
                    # Tool-use templates loop over `tools`, which is None without tools: Python
                    # raises, minijinja iterates nothing. Record what an empty tool list gives.
                    case["output_empty_tools"] = render(source, bos, eos, messages, add_generation_prompt, tools=[])
            cases.append(case)
        templates.append({"file": path.name, "bos_token": bos, "eos_token": eos, "cases": cases})
    out = {"date": DATE.strftime("%Y-%m-%d"), "templates": templates}
    (FOLDER / "expected.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {FOLDER / 'expected.json'}: {len(templates)} templates x {len(CASES)} cases")


if __name__ == "__main__":
    main()
