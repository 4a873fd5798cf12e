// Node `ws` echo server with permessage-deflate on, for scripts/bench-deflate.sh.
//   node ws_deflate_echo.mjs [PORT]      (0 or nothing: any free port on 127.0.0.1)
// Prints "Listening on ws://127.0.0.1:PORT" once ready. Every message is echoed back as it came
// (text as text, binary as binary). perMessageDeflate uses ws's defaults (zlib level 6 via
// Node's zlib, context takeover, 15 window bits, zlib's memLevel 8) except `threshold: 0`: ws
// would otherwise send messages under 1 KiB uncompressed, and the benchmark compares
// compressed echoes on both sides (ws6455's server compresses every message by default).
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2] || 0);
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: { threshold: 0 },
  maxPayload: 16 * 1024 * 1024,
});
wss.on('listening', () => {
  console.log(`Listening on ws://127.0.0.1:${wss.address().port}`);
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => ws.terminate());
});
process.on('SIGTERM', () => process.exit(0));
