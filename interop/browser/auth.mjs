// Auth from page JavaScript: the access token in the URL (browsers cannot set headers on a
// WebSocket), against `ws-server --auth-key KEY`. Usage: node auth.mjs WS_URL KEY
// Prints PASS/FAIL lines for chromium-client, then DONE.
import { launch } from './launch.mjs';

const [base, key] = process.argv.slice(2);
const peer = 'chromium-client';
const browser = await launch();
const cdp = await browser.context.newCDPSession(browser.page);
await cdp.send('Network.enable');
let wsErrors = [];
cdp.on('Network.webSocketFrameError', (e) => wsErrors.push(e.errorMessage));

const attempt = (url) => browser.page.evaluate((u) => new Promise((resolve) => {
  const ws = new WebSocket(u);
  const timer = setTimeout(() => resolve('timed out'), 15_000);
  ws.onopen = () => { clearTimeout(timer); ws.close(); resolve('open'); };
  ws.onerror = () => { clearTimeout(timer); resolve('error'); };
}), url);

const sep = base.includes('?') ? '&' : '?';
const cases = [
  ['auth-token-accepted', `${base}${sep}accessToken=${encodeURIComponent(key)}`, true],
  ['auth-token-wrong-refused', `${base}${sep}accessToken=${encodeURIComponent(`${key}x`)}`, false],
  ['auth-missing-refused', base, false],
];
try {
  for (const [name, url, shouldOpen] of cases) {
    wsErrors = [];
    let err = null;
    try {
      const outcome = await attempt(url);
      await new Promise((r) => setTimeout(r, 100)); // let the DevTools event arrive
      if (shouldOpen && outcome !== 'open') err = `connection failed: ${outcome} ${wsErrors.join('; ')}`;
      if (!shouldOpen && outcome === 'open') err = 'connection was accepted';
      if (!shouldOpen && outcome === 'error' && !wsErrors.some((m) => /\b403\b/.test(m))) {
        err = `refused, but not with 403: ${wsErrors.join('; ') || 'no handshake error reported'}`;
      }
      if (!shouldOpen && outcome === 'timed out') err = 'timed out';
    } catch (e) {
      err = `page error: ${e.message.split('\n')[0]}`;
    }
    console.log(err == null ? `PASS ${peer} ${name}` : `FAIL ${peer} ${name}: ${err}`);
  }
  console.log('DONE');
} finally {
  await browser.close();
}
