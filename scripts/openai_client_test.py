#!/usr/bin/env python3
"""Drives `behemoth serve` with the official `openai` Python client.

Checks streaming chat (chunks, role, finish reason, usage) and completions with
log-probabilities and echo. Run by the server's Rust integration test, or by hand:

    python3 scripts/openai_client_test.py --base-url http://127.0.0.1:8080/v1 [--api-key KEY]
"""
import argparse
import sys

try:
    import openai
except ImportError:
    print("skipped: the `openai` package is not installed (pip install openai)")
    sys.exit(0)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--api-key", default="none")
    ap.add_argument("--model", default="stories260K")
    args = ap.parse_args()
    client = openai.OpenAI(base_url=args.base_url, api_key=args.api_key, max_retries=0)

    models = client.models.list()
    assert [m.id for m in models.data] == [args.model], models

    # Streaming chat with usage.
    stream = client.chat.completions.create(
        model=args.model,
        messages=[{"role": "user", "content": "Tell me a story."}],
        max_tokens=20,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    text, roles, finishes, usage = "", [], [], None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for c in chunk.choices:
            if c.delta.role:
                roles.append(c.delta.role)
            if c.delta.content:
                text += c.delta.content
            if c.finish_reason:
                finishes.append(c.finish_reason)
    assert roles == ["assistant"], roles
    assert finishes == ["length"], finishes
    assert text, "empty streamed chat"
    assert usage is not None and usage.completion_tokens == 20, usage

    # Non-streaming chat gives the same text.
    chat = client.chat.completions.create(
        model=args.model,
        messages=[{"role": "user", "content": "Tell me a story."}],
        max_tokens=20,
        temperature=0,
        logprobs=True,
        top_logprobs=2,
    )
    assert chat.choices[0].message.content == text, (chat.choices[0].message.content, text)
    assert len(chat.choices[0].logprobs.content) == 20

    # Completions with echo and logprobs (what lm-evaluation-harness uses).
    comp = client.completions.create(
        model=args.model,
        prompt="Once upon a time",
        max_tokens=1,
        temperature=0,
        echo=True,
        logprobs=1,
    )
    lp = comp.choices[0].logprobs
    assert lp.token_logprobs[0] is None, lp.token_logprobs
    assert all(x <= 0 for x in lp.token_logprobs[1:]), lp.token_logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.text_offset) == len(lp.top_logprobs)
    assert comp.choices[0].text.startswith("Once upon a time"), comp.choices[0].text

    # Errors surface as the client's exception types.
    try:
        client.completions.create(model="no-such-model", prompt="x")
        raise AssertionError("expected NotFoundError")
    except openai.NotFoundError:
        pass
    try:
        client.completions.create(model=args.model, prompt="x", temperature=9)
        raise AssertionError("expected BadRequestError")
    except openai.BadRequestError:
        pass
    print("ok: openai", openai.__version__, "streaming chat, chat logprobs, completions echo+logprobs, errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
