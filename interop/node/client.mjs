// Interop client: Node `ws` against an echo server (ws6455's `ws-server --app echo`).
// Usage: node client.mjs URL [PEER_NAME]
// Prints one line per case, `PASS <peer> <case>` or `FAIL <peer> <case>: <why>`, then `DONE`.
// Every case opens its own connection and is bounded by a timeout.
import WebSocket from 'ws';

const URL = process.argv[2];
const PEER = process.argv[3] || 'node-client';
const CASE_TIMEOUT_MS = 30_000;

function pattern(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

function chatText(n) {
  const unit = '{"id":42,"user":"alice","text":"hello, how are you today?"},';
  return unit.repeat(Math.ceil(n / unit.length) + 1).slice(0, n);
}

// The permessage-deflate case: on one connection (context takeover), text and binary of 0 B,
// 100 B, 10 KiB and 300 KiB, then a repeat, each echoed back.
const DEFLATE_MESSAGES = [0, 100, 10 << 10, 300 << 10]
  .flatMap((n) => [[chatText(n), false], [pattern(n), true]])
  .concat([[chatText(100), false]]);

async function caseDeflate() {
  // perMessageDeflate is on by default in a ws client (`permessage-deflate;
  // client_max_window_bits`); threshold 0 so that small messages are compressed too.
  // The 'upgrade' event gives the 101 response: the header ws accepted.
  let answer = null;
  const ws = await open(undefined, { perMessageDeflate: { threshold: 0 } }, (res) => {
    answer = res.headers['sec-websocket-extensions'] ?? '';
  });
  try {
    if (ws.extensions !== 'permessage-deflate') {
      return `permessage-deflate not negotiated (ws.extensions ${JSON.stringify(ws.extensions)}, header ${JSON.stringify(answer)})`;
    }
    console.log(`NOTE ${PEER} deflate: negotiated ${answer}`);
    for (const [payload, binary] of DEFLATE_MESSAGES) {
      ws.send(payload, { binary });
      const m = await ws.next();
      const sent = Buffer.from(payload);
      if (m.isBinary !== binary || !sent.equals(m.data)) {
        return `echo of ${binary ? 'binary' : 'text'} of ${sent.length} bytes differs (got ${m.data.length})`;
      }
    }
    return null;
  } finally {
    closeQuietly(ws);
  }
}

// A connection with a queue of incoming messages, so cases can `await next()`.
function open(protocols, options = {}, onUpgrade = null) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(URL, protocols, { handshakeTimeout: 10_000, ...options });
    if (onUpgrade) ws.on('upgrade', onUpgrade);
    const queue = [];
    const waiters = [];
    let failure = null;
    ws.on('message', (data, isBinary) => {
      const m = { data, isBinary };
      if (waiters.length) waiters.shift().resolve(m);
      else queue.push(m);
    });
    const fail = (err) => {
      failure = err;
      while (waiters.length) waiters.shift().reject(err);
    };
    ws.on('error', (err) => { fail(err); reject(err); });
    ws.on('close', (code, reason) => fail(new Error(`closed ${code} ${reason}`)));
    ws.next = () => {
      if (queue.length) return Promise.resolve(queue.shift());
      if (failure) return Promise.reject(failure);
      return new Promise((res, rej) => waiters.push({ resolve: res, reject: rej }));
    };
    ws.on('open', () => resolve(ws));
  });
}

function closeQuietly(ws) {
  try { ws.terminate(); } catch { /* already gone */ }
}

async function echo(payload, binary) {
  const ws = await open();
  try {
    ws.send(payload, { binary });
    const m = await ws.next();
    if (m.isBinary !== binary) return `sent ${binary ? 'binary' : 'text'}, got ${m.isBinary ? 'binary' : 'text'}`;
    const sent = Buffer.from(payload);
    if (!sent.equals(m.data)) return `echo differs (sent ${sent.length} bytes, got ${m.data.length})`;
    return null;
  } finally {
    closeQuietly(ws);
  }
}

async function caseOrder() {
  const ws = await open();
  try {
    for (let i = 0; i < 1000; i++) ws.send(`msg-${i}`);
    for (let i = 0; i < 1000; i++) {
      const m = await ws.next();
      if (m.data.toString() !== `msg-${i}`) return `message ${i}: got ${m.data.toString().slice(0, 40)}`;
    }
    return null;
  } finally {
    closeQuietly(ws);
  }
}

async function casePing() {
  const ws = await open();
  try {
    const pong = new Promise((resolve) => ws.once('pong', (data) => resolve(data)));
    ws.ping(Buffer.from('interop-ping'));
    const data = await pong;
    if (data.toString() !== 'interop-ping') return `pong payload ${JSON.stringify(data.toString())}`;
    return null;
  } finally {
    closeQuietly(ws);
  }
}

async function caseClose() {
  const ws = await open();
  const closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.close(1000, 'bye');
  const { code, reason } = await closed;
  if (code !== 1000) return `peer answered close with ${code} ${JSON.stringify(reason)}`;
  if (reason !== 'bye') return `the close echo had code 1000 but reason ${JSON.stringify(reason)}, not "bye"`;
  return null;
}

async function caseSubprotocol(offer, expect) {
  // ws fails the connection when it offered protocols and the server selected none
  // ("Server sent no subprotocol"), so look at the 101 response itself as well.
  let upgrade = null;
  let ws;
  try {
    ws = await new Promise((resolve, reject) => {
      const s = new WebSocket(URL, [offer], { handshakeTimeout: 10_000 });
      s.on('upgrade', (res) => { upgrade = res; });
      s.on('open', () => resolve(s));
      s.on('error', reject);
    });
  } catch (err) {
    if (expect === '' && upgrade && upgrade.statusCode === 101 &&
        upgrade.headers['sec-websocket-protocol'] === undefined &&
        /no subprotocol/i.test(err.message)) {
      return null; // 101 without Sec-WebSocket-Protocol: none selected, as expected
    }
    return `handshake failed: ${err.message}`;
  }
  try {
    if (ws.protocol !== expect) return `offered ${offer}, server selected ${JSON.stringify(ws.protocol)}`;
    return null;
  } finally {
    closeQuietly(ws);
  }
}

const CASES = [
  ['text', () => echo('Hello, WebSocket!', false)],
  ['empty-text', () => echo('', false)],
  ['binary-0-255', () => echo(Buffer.from([...Array(256).keys()]), true)],
  ['utf8', () => echo('emoji 😀🎉👍🏽, CJK 漢字かなカナ한글, ½ € ∑', false)],
  ['size-125', () => echo(pattern(125), true)],
  ['size-126', () => echo(pattern(126), true)],
  ['size-65535', () => echo(pattern(65535), true)],
  ['size-65536', () => echo(pattern(65536), true)],
  ['size-1MiB', () => echo(pattern(1 << 20), true)],
  ['size-16MiB', () => echo(pattern(16 << 20), true)],
  ['text-utf8-large', () => echo('ab€😀漢'.repeat(50000), false)],
  ['order-1000', caseOrder],
  ['deflate', caseDeflate],
  ['ping-pong', casePing],
  ['close-1000-bye', caseClose],
  ['subprotocol-chat', () => caseSubprotocol('chat', 'chat')],
  ['subprotocol-none', () => caseSubprotocol('zzz', '')],
];

const only = process.argv[4] ? new Set(process.argv[4].split(',')) : null;
for (const [name, fn] of CASES) {
  if (only && !only.has(name)) continue;
  let err;
  let timer;
  try {
    err = await Promise.race([
      fn(),
      new Promise((resolve) => { timer = setTimeout(() => resolve(`timed out after ${CASE_TIMEOUT_MS / 1000}s`), CASE_TIMEOUT_MS); }),
    ]);
  } catch (e) {
    err = `${e && e.message ? e.message : e}`;
  }
  clearTimeout(timer);
  console.log(err == null ? `PASS ${PEER} ${name}` : `FAIL ${PEER} ${name}: ${err}`);
}
console.log('DONE');
process.exit(0);
