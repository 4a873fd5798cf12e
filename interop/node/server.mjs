// Interop server: Node `ws` echo server, for ws6455's client to talk to.
// Binds 127.0.0.1 on a free port and prints `Listening on ws://127.0.0.1:PORT` first.
// Echoes text as text and binary as binary; selects `chat` or `echo` when offered (the first
// offered one it supports), none otherwise.
import { WebSocketServer } from 'ws';

const SUPPORTED = ['chat', 'echo'];
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  maxPayload: 64 << 20,
  // Off by default in a ws server; on here so that our client negotiates it. threshold 0:
  // every message is compressed, small ones too.
  perMessageDeflate: { threshold: 0 },
  handleProtocols: (offered) => {
    for (const p of offered) if (SUPPORTED.includes(p)) return p;
    return false;
  },
});
wss.on('listening', () => {
  console.log(`Listening on ws://127.0.0.1:${wss.address().port}`);
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
