"""Auth check with Python `websockets`: the X-WS-AUTH-KEY header (the article's way for clients
that can send headers). Usage: auth.py URL KEY. Prints PASS/FAIL lines, then DONE."""

import asyncio
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

URL, KEY = sys.argv[1], sys.argv[2]
PEER = "python-client"


async def accepted(headers):
    async with connect(URL, additional_headers=headers, open_timeout=10, ping_interval=None) as ws:
        await ws.recv()  # the chat app greets us
    return None


async def refused(headers):
    try:
        async with connect(URL, additional_headers=headers, open_timeout=10, ping_interval=None):
            return "connection was accepted"
    except InvalidStatus as e:
        if e.response.status_code != 403:
            return f"refused with {e.response.status_code}, expected 403"
        return None


CASES = [
    ("auth-header-accepted", lambda: accepted({"X-WS-AUTH-KEY": KEY})),
    ("auth-header-wrong-refused", lambda: refused({"X-WS-AUTH-KEY": KEY + "x"})),
    ("auth-missing-refused", lambda: refused({})),
]


async def main():
    for name, fn in CASES:
        try:
            err = await asyncio.wait_for(fn(), 30)
        except asyncio.TimeoutError:
            err = "timed out"
        except Exception as e:  # noqa: BLE001
            err = f"{type(e).__name__}: {e}"
        print(f"PASS {PEER} {name}" if err is None else f"FAIL {PEER} {name}: {err}", flush=True)
    print("DONE", flush=True)


asyncio.run(main())
