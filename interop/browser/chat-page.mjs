// Chromium loads the chat page that ws-server serves at GET /, types a line into it and waits
// for the bot's reply to appear, then saves a screenshot.
// Usage: node chat-page.mjs HTTP_URL SCREENSHOT_PATH
// The page contract: `<input id="input">` sends its text on Enter, each received message appears
// as a line containing its text in `#log`, and `#status` shows the connection state.
// `page-compressed`: the page's WebSocket negotiated permessage-deflate (the handshake as
// Chromium's DevTools protocol reports it: the browser's own view).
// Prints PASS/FAIL lines for chromium-page, then DONE.
import { launch } from './launch.mjs';

const [url, shot] = process.argv.slice(2);
const peer = 'chromium-page';
const GREETING = 'Hi, how can I help you today?';
const REPLY = 'Sure, I am here to help. Can you briefly describe the problem.';
const results = [];
const check = async (name, fn) => {
  let err = null;
  try {
    err = await fn();
  } catch (e) {
    err = e.message.split('\n')[0];
  }
  results.push(err);
  console.log(err == null ? `PASS ${peer} ${name}` : `FAIL ${peer} ${name}: ${err}`);
  return err == null;
};

const browser = await launch();
const { page } = browser;
const consoleLines = [];
page.on('console', (m) => consoleLines.push(m.text()));
page.setDefaultTimeout(15_000);
const cdp = await browser.context.newCDPSession(page);
await cdp.send('Network.enable');
const offers = [];
const answers = [];
const header = (headers, name) => {
  const key = Object.keys(headers || {}).find((k) => k.toLowerCase() === name);
  return key === undefined ? null : headers[key];
};
cdp.on('Network.webSocketWillSendHandshakeRequest', (e) => {
  offers.push(header(e.request.headers, 'sec-websocket-extensions'));
});
cdp.on('Network.webSocketHandshakeResponseReceived', (e) => {
  answers.push(header(e.response.headers, 'sec-websocket-extensions'));
});
try {
  const loaded = await check('page-loads', async () => {
    const res = await page.goto(url, { waitUntil: 'load' });
    if (!res) return 'no response';
    if (res.status() !== 200) return `GET / answered ${res.status()}`;
    const type = res.headers()['content-type'] || '';
    if (!type.startsWith('text/html')) return `content-type ${type}`;
    for (const sel of ['#input', '#log', '#status']) {
      if (await page.locator(sel).count() !== 1) return `no ${sel} element`;
    }
    return null;
  });
  const greeted = loaded && await check('page-greeting', async () => {
    await page.locator('#log').filter({ hasText: GREETING }).waitFor();
    const status = (await page.locator('#status').innerText()).trim();
    if (!status) return '#status is empty';
    if (!/^(connected|open)\b/i.test(status)) return `#status says ${JSON.stringify(status)}, not connected`;
    return null;
  });
  if (greeted) {
    await check('page-reply', async () => {
      await page.locator('#input').fill('i need help');
      await page.locator('#input').press('Enter');
      await page.locator('#log').filter({ hasText: REPLY }).waitFor();
      return null;
    });
  }
  if (greeted) {
    await check('page-compressed', async () => {
      const answer = answers[0];
      if (!answer || !answer.startsWith('permessage-deflate')) {
        return `no permessage-deflate agreed (offer ${JSON.stringify(offers[0] ?? null)}, answer ${JSON.stringify(answer ?? null)})`;
      }
      console.log(`NOTE ${peer} page-compressed: offer ${offers[0]}; answer ${answer}`);
      return null;
    });
  }
  if (loaded) {
    await check('page-screenshot', async () => {
      await page.screenshot({ path: shot, fullPage: true });
      return null;
    });
  }
  if (results.some((r) => r != null) && consoleLines.length) {
    console.error(`page console:\n  ${consoleLines.join('\n  ')}`);
  }
  console.log('DONE');
} finally {
  await browser.close();
}
