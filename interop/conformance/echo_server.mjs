// Conformance peer: a Node `ws` echo server for `ws-conformance server`.
// Binds 127.0.0.1 on a free port and prints `Listening on ws://127.0.0.1:PORT` first.
// Echoes text as text and binary as binary. maxPayload is set to 64 MiB (the tester's default
// --max-message-size; ws's own default is 100 MiB); everything else is ws's default behaviour,
// which is what the recorded verdicts describe.
import { WebSocketServer } from 'ws';

// WS_PMD=1 turns on ws's permessage-deflate (off by default on a ws server; the recorded verdicts are
// without it).
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  maxPayload: 64 << 20,
  perMessageDeflate: process.env.WS_PMD === '1',
});
wss.on('listening', () => {
  console.log(`Listening on ws://127.0.0.1:${wss.address().port}`);
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
