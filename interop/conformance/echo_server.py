"""Conformance peer: a Python `websockets` echo server for `ws-conformance server`.

Binds 127.0.0.1 on a free port and prints `Listening on ws://127.0.0.1:PORT` first.
Echoes text as text and binary as binary. Everything else (pings, closing, failing the
connection on protocol errors, the 1 MiB default message limit) is the library's own
behaviour with its defaults, which is what the recorded verdicts describe.
"""

import asyncio

from websockets.asyncio.server import serve


async def handler(ws):
    async for msg in ws:
        await ws.send(msg)


async def main():
    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"Listening on ws://127.0.0.1:{port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
