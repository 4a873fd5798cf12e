// Client-mode adapter for `ws-conformance client`: drives the Node `ws` client.
//
//   ws-conformance client --listen 127.0.0.1:9001 &
//   node interop/conformance/client_adapter.mjs ws://127.0.0.1:9001
//
// Reads the case count, then runs every case on its own connection: echoes text as text and
// binary as binary until the connection ends. Errors only end the case. maxPayload is 64 MiB,
// the tester's default --max-message-size.
import WebSocket from 'ws';

const base = process.argv[2] ?? 'ws://127.0.0.1:9001';
const AGENT = 'node-ws';

function caseCount() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base}/getCaseCount`);
    ws.on('message', (data) => resolve(Number(data.toString())));
    ws.on('error', reject);
  });
}

function runCase(i) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${base}/runCase?case=${i}&agent=${AGENT}`, { maxPayload: 64 << 20 });
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => {}); // the case is over: the tester judges what happened on the wire
    ws.on('close', resolve);
  });
}

const count = await caseCount();
for (let i = 1; i <= count; i++) await runCase(i);
