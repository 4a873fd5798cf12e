// Interop cases written against the WHATWG WebSocket API only, shared by the Deno client
// (imported) and the Chromium client (the function's source is run in the page by playwright).
// `runWebCase` must stay self-contained: no references to anything outside its own body.
// It resolves to null on success or to a string saying what went wrong; a string starting with
// `NOTE: ` means success with a remark worth printing.

/** Names of the cases runWebCase knows, in the order they are run. */
export const WEB_CASES = [
  'text', 'empty-text', 'binary-0-255', 'utf8',
  'size-125', 'size-126', 'size-65535', 'size-65536', 'size-1MiB', 'size-16MiB',
  'text-utf8-large', 'order-1000', 'deflate', 'close-1000-bye', 'subprotocol-chat', 'subprotocol-none',
];

export async function runWebCase({ url, name, timeoutMs, deflateOptional = false }) {
  const pattern = (n) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
    return b;
  };

  // Opens a connection; resolves once open, with a queue of incoming messages.
  const open = (protocols) => new Promise((resolve, reject) => {
    const ws = protocols === undefined ? new WebSocket(url) : new WebSocket(url, protocols);
    ws.binaryType = 'arraybuffer';
    const queue = [];
    const waiters = [];
    let failure = null;
    ws.onmessage = (e) => {
      if (waiters.length) waiters.shift().resolve(e.data);
      else queue.push(e.data);
    };
    ws.onerror = () => {
      failure = new Error('error event');
      reject(failure);
      while (waiters.length) waiters.shift().reject(failure);
    };
    ws.addEventListener('close', (e) => {
      failure = new Error(`closed ${e.code} ${e.reason}`);
      reject(failure);
      while (waiters.length) waiters.shift().reject(failure);
    });
    ws.onopen = () => resolve(ws);
    ws.next = () => {
      if (queue.length) return Promise.resolve(queue.shift());
      if (failure) return Promise.reject(failure);
      return new Promise((res, rej) => waiters.push({ resolve: res, reject: rej }));
    };
  });

  const sameBytes = (a, b) => {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  };

  const echoText = async (s) => {
    const ws = await open();
    try {
      ws.send(s);
      const got = await ws.next();
      if (typeof got !== 'string') return 'sent text, got binary';
      if (got !== s) return `echo differs (sent ${s.length} chars, got ${got.length})`;
      return null;
    } finally { ws.close(); }
  };

  const echoBinary = async (bytes) => {
    const ws = await open();
    try {
      ws.send(bytes);
      const got = await ws.next();
      if (typeof got === 'string') return 'sent binary, got text';
      const u = new Uint8Array(got);
      if (!sameBytes(u, bytes)) return `echo differs (sent ${bytes.length} bytes, got ${u.length})`;
      return null;
    } finally { ws.close(); }
  };

  const order = async () => {
    const ws = await open();
    try {
      for (let i = 0; i < 1000; i++) ws.send(`msg-${i}`);
      for (let i = 0; i < 1000; i++) {
        const got = await ws.next();
        if (got !== `msg-${i}`) return `message ${i}: got ${String(got).slice(0, 40)}`;
      }
      return null;
    } finally { ws.close(); }
  };

  // permessage-deflate: `ws.extensions` is the browser's view of what was agreed. On one
  // connection (context takeover), text and binary of 0 B, 100 B, 10 KiB and 300 KiB, then a
  // repeat, each echoed back. `deflateOptional`: a runtime that never offers it (Deno) passes
  // with a NOTE when nothing was negotiated.
  const deflate = async () => {
    const chatText = (n) => {
      const unit = '{"id":42,"user":"alice","text":"hello, how are you today?"},';
      return unit.repeat(Math.ceil(n / unit.length) + 1).slice(0, n);
    };
    const msgs = [0, 100, 10 << 10, 300 << 10].flatMap((n) => [chatText(n), pattern(n)]);
    msgs.push(chatText(100));
    const ws = await open();
    try {
      const ext = ws.extensions;
      if (!ext.startsWith('permessage-deflate') && !deflateOptional) {
        return `permessage-deflate not negotiated (ws.extensions ${JSON.stringify(ext)})`;
      }
      for (const m of msgs) {
        ws.send(m);
        const got = await ws.next();
        if (typeof m === 'string') {
          if (got !== m) return `echo of text of ${m.length} differs`;
        } else if (typeof got === 'string' || !sameBytes(new Uint8Array(got), m)) {
          return `echo of binary of ${m.length} differs`;
        }
      }
      return ext ? `NOTE: negotiated ${ext}` : 'NOTE: this runtime offers no permessage-deflate (ws.extensions is empty); messages crossed uncompressed';
    } finally { ws.close(); }
  };

  const closeBye = async () => {
    const ws = await open();
    const ev = new Promise((resolve) => ws.addEventListener('close', resolve));
    ws.close(1000, 'bye');
    const e = await ev;
    if (e.code !== 1000) return `close event ${e.code} ${JSON.stringify(e.reason)}, expected 1000 "bye"`;
    if (!e.wasClean) return 'close was not clean';
    if (e.reason !== 'bye') return `the close echo had code 1000 but reason ${JSON.stringify(e.reason)}, not "bye"`;
    return null;
  };

  const subprotocol = async (offer, expect) => {
    const ws = await open([offer]);
    try {
      if (ws.protocol !== expect) return `offered ${offer}, server selected ${JSON.stringify(ws.protocol)}`;
      ws.send('sub');
      if (await ws.next() !== 'sub') return 'echo differs';
      return null;
    } finally { ws.close(); }
  };

  const cases = {
    'text': () => echoText('Hello, WebSocket!'),
    'empty-text': () => echoText(''),
    'binary-0-255': () => echoBinary(Uint8Array.from({ length: 256 }, (_, i) => i)),
    'utf8': () => echoText('emoji 😀🎉👍🏽, CJK 漢字かなカナ한글, ½ € ∑'),
    'size-125': () => echoBinary(pattern(125)),
    'size-126': () => echoBinary(pattern(126)),
    'size-65535': () => echoBinary(pattern(65535)),
    'size-65536': () => echoBinary(pattern(65536)),
    'size-1MiB': () => echoBinary(pattern(1 << 20)),
    'size-16MiB': () => echoBinary(pattern(16 << 20)),
    'text-utf8-large': () => echoText('ab€😀漢'.repeat(50000)),
    'order-1000': order,
    'deflate': deflate,
    'close-1000-bye': closeBye,
    'subprotocol-chat': () => subprotocol('chat', 'chat'),
    'subprotocol-none': () => subprotocol('zzz', ''),
  };
  const fn = cases[name];
  if (!fn) return `unknown case ${name}`;
  let timer;
  try {
    return await Promise.race([
      fn(),
      new Promise((resolve) => { timer = setTimeout(() => resolve(`timed out after ${timeoutMs / 1000}s`), timeoutMs); }),
    ]);
  } catch (e) {
    return `${e && e.message ? e.message : e}`;
  } finally {
    clearTimeout(timer);
  }
}
