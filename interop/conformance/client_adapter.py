"""Client-mode adapter for `ws-conformance client`: drives the Python `websockets` client.

    ws-conformance client --listen 127.0.0.1:9001 &
    python3 interop/conformance/client_adapter.py ws://127.0.0.1:9001

Reads the case count, then runs every case on its own connection: echoes text as text and
binary as binary until the connection ends. Errors only end the case. `max_size` is left at
websockets' default (1 MiB): run the tester with `--max-message-size 1M` to match.
"""

import asyncio
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

AGENT = "python-websockets"


async def run_case(base, case):
    try:
        async with connect(f"{base}/runCase?case={case}&agent={AGENT}") as ws:
            async for msg in ws:
                await ws.send(msg)
    except (OSError, WebSocketException, asyncio.TimeoutError):
        pass  # the case is over: the tester judges what happened on the wire


async def main(base):
    async with connect(f"{base}/getCaseCount") as ws:
        count = int(await ws.recv())
    for case in range(1, count + 1):
        await run_case(base, case)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9001"))
