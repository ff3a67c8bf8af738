#!/usr/bin/env python3
"""Bounded loopback load test for `behemoth serve` (standard library only).

N concurrent clients send streaming requests (completions and chat, alternating) until
R requests have been sent in all; a fraction of them disconnect after the first chunks.
Checks: no 5xx and no malformed stream (every completed stream is JSON chunks, one finish
reason per choice, a usage chunk, then `data: [DONE]`), and after the run /metrics shows
no running sequences, an empty queue and zero KV blocks in use (nothing leaked).
Prints generated tokens per second (completed requests only).

    ./target/release/behemoth serve --port 8080 --max-seqs 64 &
    python3 scripts/load_test.py --port 8080 --concurrency 64 --requests 2000 --disconnect 0.1
"""
import argparse
import asyncio
import json
import random
import sys
import time

PROMPTS = [
    "Once upon a time",
    "The little dog ran",
    "Lily and Ben went to the park. They",
    "One day, a big bird",
    "Tom had a red ball. He",
    "The sun was hot and the children",
    "There was a girl named Sue. She liked",
    "In the forest, a small bear",
]


class Stats:
    def __init__(self):
        self.completed = 0
        self.disconnected = 0
        self.tokens = 0
        self.errors = []
        self.statuses = {}


async def read_head(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return status, headers


async def read_chunks(reader, headers):
    """Yields body pieces (chunked or content-length)."""
    if "chunked" in headers.get("transfer-encoding", ""):
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return
            data = await reader.readexactly(size + 2)
            yield data[:-2]
    else:
        n = int(headers.get("content-length", "0"))
        if n:
            yield await reader.readexactly(n)


def request_bytes(host, port, path, body, api_key):
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    )
    if api_key:
        head += f"Authorization: Bearer {api_key}\r\n"
    return head.encode() + b"\r\n" + data


async def one_request(args, i, stats):
    rng = random.Random(i)
    chat = i % 2 == 1
    disconnect = rng.random() < args.disconnect
    max_tokens = rng.randint(args.min_tokens, args.max_tokens)
    body = {
        "model": args.model,
        "max_tokens": max_tokens,
        "temperature": 0.8,
        "seed": i,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if chat:
        path = "/v1/chat/completions"
        body["messages"] = [{"role": "user", "content": rng.choice(PROMPTS)}]
    else:
        path = "/v1/completions"
        body["prompt"] = rng.choice(PROMPTS)
    reader, writer = await asyncio.open_connection(args.host, args.port)
    try:
        writer.write(request_bytes(args.host, args.port, path, body, args.api_key))
        await writer.drain()
        status, headers = await read_head(reader)
        stats.statuses[status] = stats.statuses.get(status, 0) + 1
        if status != 200:
            text = b"".join([c async for c in read_chunks(reader, headers)])
            if status >= 500 and status != 503:
                stats.errors.append(f"request {i}: status {status}: {text[:200]!r}")
            elif status == 503:
                stats.errors.append(f"request {i}: 503 (queue full): raise --max-queue")
            return
        buf = b""
        events = []
        async for piece in read_chunks(reader, headers):
            buf += piece
            while b"\n\n" in buf:
                event, buf = buf.split(b"\n\n", 1)
                events.append(event.decode())
            if disconnect and len(events) >= 2:
                stats.disconnected += 1
                return  # the finally block closes the socket mid-stream
        check_stream(i, events, chat, stats)
    except Exception as e:  # noqa: BLE001 - every failure is a finding
        stats.errors.append(f"request {i}: {type(e).__name__}: {e}")
    finally:
        writer.close()


def check_stream(i, events, chat, stats):
    if not events or events[-1] != "data: [DONE]":
        stats.errors.append(f"request {i}: stream does not end with [DONE]")
        return
    chunks = []
    for e in events[:-1]:
        if not e.startswith("data: "):
            stats.errors.append(f"request {i}: not an SSE data line: {e[:80]!r}")
            return
        chunks.append(json.loads(e[len("data: "):]))
    if any("error" in c for c in chunks):
        stats.errors.append(f"request {i}: error chunk {chunks}")
        return
    finishes = [
        ch["finish_reason"] for c in chunks for ch in c["choices"] if ch.get("finish_reason")
    ]
    if len(finishes) != 1 or finishes[0] not in ("stop", "length"):
        stats.errors.append(f"request {i}: finish reasons {finishes}")
        return
    usage = chunks[-1].get("usage")
    if not usage or chunks[-1]["choices"]:
        stats.errors.append(f"request {i}: no usage chunk at the end")
        return
    want_object = "chat.completion.chunk" if chat else "text_completion"
    if any(c["object"] != want_object for c in chunks):
        stats.errors.append(f"request {i}: wrong object type")
        return
    stats.completed += 1
    stats.tokens += usage["completion_tokens"]


async def get(args, path):
    reader, writer = await asyncio.open_connection(args.host, args.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    status, headers = await read_head(reader)
    body = b"".join([c async for c in read_chunks(reader, headers)])
    writer.close()
    return status, body.decode()


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


async def main_async(args):
    stats = Stats()
    counter = iter(range(args.requests))

    async def worker():
        for i in counter:
            await one_request(args, i, stats)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    wall = time.perf_counter() - t0

    # Everything finished or cancelled: the engine must be idle with no blocks held.
    deadline = time.time() + 10
    while True:
        _, text = await get(args, "/metrics")
        used = metric(text, "behemoth_kv_blocks_used")
        running = metric(text, "behemoth_running_sequences")
        queued = metric(text, "behemoth_queue_depth")
        if (used, running, queued) == (0, 0, 0) or time.time() > deadline:
            break
        await asyncio.sleep(0.05)
    server_errors = sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith('behemoth_requests_total{status="5')
    )
    print(
        f"concurrency {args.concurrency}: {args.requests} requests in {wall:.1f} s; "
        f"{stats.completed} completed, {stats.disconnected} disconnected mid-stream; "
        f"{stats.tokens} tokens generated by completed requests = {stats.tokens / wall:.0f} tok/s; "
        f"statuses {stats.statuses}"
    )
    print(
        f"after the run: kv_blocks_used {used}, running {running}, queue {queued}, "
        f"5xx responses {server_errors:.0f}, "
        f"cancelled {metric(text, 'behemoth_cancelled_requests_total')}, "
        f"preemptions {metric(text, 'behemoth_preemptions_total')}"
    )
    ok = True
    if stats.errors:
        ok = False
        print(f"{len(stats.errors)} errors, first ones:")
        for e in stats.errors[:10]:
            print("  " + e)
    if used != 0 or running != 0 or queued != 0:
        ok = False
        print("LEAK: the engine is not idle with zero blocks in use")
    if server_errors:
        ok = False
        print("server errors were answered")
    if stats.completed + stats.disconnected != args.requests:
        ok = False
        print("not every request completed or disconnected cleanly")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--api-key")
    ap.add_argument("--model", default="stories260K")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--disconnect", type=float, default=0.1, help="fraction that disconnects")
    ap.add_argument("--min-tokens", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=128)
    args = ap.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("loopback only")
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
