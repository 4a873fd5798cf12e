// Interop client: Chromium's WebSocket (page JavaScript) against an echo server.
// Usage: node client.mjs URL [PEER_NAME]
// Prints one line per case, `PASS <peer> <case>` or `FAIL <peer> <case>: <why>`, then `DONE`.
import { launch } from './launch.mjs';
import { runWebCase, WEB_CASES } from '../web/cases.js';

const url = process.argv[2];
const peer = process.argv[3] || 'chromium-client';
const browser = await launch();
// The DevTools protocol reports why a handshake failed, which the page cannot see.
const cdp = await browser.context.newCDPSession(browser.page);
await cdp.send('Network.enable');
let wsErrors = [];
cdp.on('Network.webSocketFrameError', (e) => wsErrors.push(e.errorMessage));
try {
  for (const name of WEB_CASES) {
    let err;
    wsErrors = [];
    try {
      err = await browser.page.evaluate(runWebCase, { url, name, timeoutMs: 30_000 });
    } catch (e) {
      err = `page error: ${e.message.split('\n')[0]}`;
    }
    if (err && err.startsWith('NOTE: ')) {
      console.log(`NOTE ${peer} ${name}: ${err.slice(6)}`);
      err = null;
    } else if (name === 'subprotocol-none' && err === 'error event') {
      // Chromium fails a connection whose 101 names no protocol when it offered one, with
      // exactly this message. That is the expected outcome: the server selected none.
      const noneSelected = "Sent non-empty 'Sec-WebSocket-Protocol' header but no response was received";
      if (wsErrors.some((m) => m.includes(noneSelected))) err = null;
      else err = `error event: ${wsErrors.join('; ') || 'no handshake error reported'}`;
    } else if (err && err.startsWith('error event') && wsErrors.length) {
      err = `${err}: ${wsErrors.join('; ')}`;
    }
    console.log(err == null ? `PASS ${peer} ${name}` : `FAIL ${peer} ${name}: ${err}`);
  }
  console.log('DONE');
} finally {
  await browser.close();
}
