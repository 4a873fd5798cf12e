"""Interop client: Python `websockets` against an echo server (ws6455's `ws-server --app echo`).

Usage: client.py URL [PEER_NAME]
Prints one line per case, `PASS <peer> <case>` or `FAIL <peer> <case>: <why>`, then `DONE`.
Every case opens its own connection and is bounded by a timeout.
"""

import asyncio
import sys

from websockets.asyncio.client import connect

URL = sys.argv[1]
PEER = sys.argv[2] if len(sys.argv) > 2 else "python-client"
CASE_TIMEOUT = 30


def pattern(n):
    """n bytes of a fixed, non-trivial pattern (so shifted or truncated data is caught)."""
    block = bytes((i * 31 + 7) & 0xFF for i in range(256))
    return (block * (n // 256 + 1))[:n]


def chat_text(n):
    """n characters of JSON-like chat traffic (compressible, like real messages)."""
    unit = '{"id":42,"user":"alice","text":"hello, how are you today?"},'
    return (unit * (n // len(unit) + 1))[:n]


# The permessage-deflate case: on one connection (so context takeover is exercised), text and
# binary of 0 B, 100 B, 10 KiB and 300 KiB, then a repeat, each echoed back.
DEFLATE_MESSAGES = [
    m
    for n in (0, 100, 10 << 10, 300 << 10)
    for m in (chat_text(n), pattern(n))
] + [chat_text(100)]


def opts(**kw):
    # max_size=None: websockets refuses messages over 1 MiB by default.
    base = dict(max_size=None, ping_interval=None, open_timeout=10, close_timeout=10)
    base.update(kw)
    return base


async def echo(msg, **kw):
    async with connect(URL, **opts(**kw)) as ws:
        await ws.send(msg)
        got = await ws.recv()
    if type(got) is not type(msg):
        return f"sent {type(msg).__name__}, got {type(got).__name__}"
    if got != msg:
        return f"echo differs (sent {len(msg)}, got {len(got)})"
    return None


async def case_deflate():
    # websockets offers `permessage-deflate; client_max_window_bits` by default (compression=
    # "deflate"); the answer it accepted is the peer's view of what was agreed.
    async with connect(URL, **opts(compression="deflate")) as ws:
        ext = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        if not ext.startswith("permessage-deflate"):
            return f"permessage-deflate not negotiated (Sec-WebSocket-Extensions: {ext!r})"
        print(f"NOTE {PEER} deflate: negotiated {ext}", flush=True)
        for m in DEFLATE_MESSAGES:
            await ws.send(m)
            got = await ws.recv()
            if type(got) is not type(m) or got != m:
                return f"echo of {type(m).__name__} of {len(m)} differs (got {len(got)})"
    return None


async def case_order():
    async with connect(URL, **opts()) as ws:
        for i in range(1000):
            await ws.send(f"msg-{i}")
        for i in range(1000):
            got = await ws.recv()
            if got != f"msg-{i}":
                return f"message {i}: got {got!r}"
    return None


async def case_ping():
    async with connect(URL, **opts()) as ws:
        waiter = await ws.ping(b"interop-ping")
        await asyncio.wait_for(waiter, 10)
        # the connection is still usable after the ping
        await ws.send("after-ping")
        if await ws.recv() != "after-ping":
            return "echo after ping differs"
    return None


async def case_close():
    ws = await connect(URL, **opts())
    await ws.close(1000, "bye")
    rcvd = ws.protocol.close_rcvd
    if rcvd is None:
        return "no close frame received"
    if rcvd.code != 1000:
        return f"peer answered close with {rcvd.code} {rcvd.reason!r}"
    if rcvd.reason != "bye":
        return f"the close echo had code 1000 but reason {rcvd.reason!r}, not 'bye'"
    return None


async def case_subprotocol(offer, expect):
    async with connect(URL, **opts(subprotocols=[offer])) as ws:
        if ws.subprotocol != expect:
            return f"offered {offer!r}, server selected {ws.subprotocol!r}"
        await ws.send("sub")
        if await ws.recv() != "sub":
            return "echo differs"
    return None


CASES = [
    ("text", lambda: echo("Hello, WebSocket!")),
    ("empty-text", lambda: echo("")),
    ("binary-0-255", lambda: echo(bytes(range(256)))),
    ("utf8", lambda: echo("emoji 😀🎉👍🏽, CJK 漢字かなカナ한글, ½ € ∑")),
    ("size-125", lambda: echo(pattern(125))),
    ("size-126", lambda: echo(pattern(126))),
    ("size-65535", lambda: echo(pattern(65535))),
    ("size-65536", lambda: echo(pattern(65536))),
    ("size-1MiB", lambda: echo(pattern(1 << 20))),
    ("size-16MiB", lambda: echo(pattern(16 << 20))),
    ("text-utf8-large", lambda: echo("ab€😀漢" * 50000)),
    ("order-1000", case_order),
    ("deflate", case_deflate),
    ("ping-pong", case_ping),
    ("close-1000-bye", case_close),
    ("subprotocol-chat", lambda: case_subprotocol("chat", "chat")),
    ("subprotocol-none", lambda: case_subprotocol("zzz", None)),
]


async def main():
    only = set(sys.argv[3].split(",")) if len(sys.argv) > 3 else None
    for name, fn in CASES:
        if only and name not in only:
            continue
        try:
            err = await asyncio.wait_for(fn(), CASE_TIMEOUT)
        except asyncio.TimeoutError:
            err = f"timed out after {CASE_TIMEOUT}s"
        except Exception as e:  # noqa: BLE001 - any failure is a FAIL line
            err = f"{type(e).__name__}: {e}"
        print(f"PASS {PEER} {name}" if err is None else f"FAIL {PEER} {name}: {err}", flush=True)
    print("DONE", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
