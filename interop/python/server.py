"""Interop server: Python `websockets` echo server, for ws6455's client to talk to.

Binds 127.0.0.1 on a free port and prints `Listening on ws://127.0.0.1:PORT` first.
Echoes text as text and binary as binary; selects the `chat` or `echo` subprotocol when offered
(the first offered one it supports), none otherwise.
"""

import asyncio

from websockets.asyncio.server import serve

SUPPORTED = ("chat", "echo")


def select_subprotocol(_conn, offered):
    for p in offered:
        if p in SUPPORTED:
            return p
    return None


async def handler(ws):
    async for msg in ws:
        await ws.send(msg)


async def main():
    async with serve(
        handler,
        "127.0.0.1",
        0,
        select_subprotocol=select_subprotocol,
        max_size=None,
        ping_interval=None,
        # permessage-deflate as websockets does by default (server_max_window_bits=12,
        # client_max_window_bits=12 when offered): our client offers it.
        compression="deflate",
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"Listening on ws://127.0.0.1:{port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
