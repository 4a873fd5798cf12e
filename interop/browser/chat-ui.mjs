// The chat page as a person uses it, in headless Chromium against the real ws-server binary,
// which this script starts and stops itself (every server on 127.0.0.1, every wait bounded).
// Usage: node chat-ui.mjs WS_SERVER_BINARY OUT_DIR
// Cases (PASS/FAIL lines for chromium-ui, then DONE):
//   conversation   greeting and reply as server bubbles, the typed line as ours, each with a
//                  time, aligned apart; the log follows the newest message
//   phone-width    at 375 px wide nothing scrolls sideways, even with a long unbroken message
//   favicon        the page declares an inline icon and loading it requested nothing else
//   no-console-errors  the conversation left no console error and no uncaught exception
//   token-prompt   against --auth-key: the page says a token is needed, offers a field, and
//                  the token typed there connects (it goes into ?accessToken=)
//   reconnect      the server stops: the page shows it is offline and retrying; the server
//                  comes back on the same port: the page reconnects by itself and chats again
//   screenshot     OUT_DIR/chat-ui-phone.png and OUT_DIR/chat-ui-token.png
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launch } from './launch.mjs';

const [bin, outDir] = process.argv.slice(2);
if (!bin || !outDir) {
  console.error('usage: node chat-ui.mjs WS_SERVER_BINARY OUT_DIR');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const peer = 'chromium-ui';
const GREETING = 'Hi, how can I help you today?';
const HELP = 'Sure, I am here to help. Can you briefly describe the problem.';
const WAIT = 20_000;

const check = async (name, fn) => {
  let err = null;
  try {
    err = await fn();
  } catch (e) {
    err = String(e.message || e).split('\n')[0];
  }
  console.log(err == null ? `PASS ${peer} ${name}` : `FAIL ${peer} ${name}: ${err}`);
  return err == null;
};

// Starts ws-server with ARGS; resolves with { proc, addr } once it prints `Listening on`.
const servers = [];
function startServer(args) {
  const env = { ...process.env };
  delete env.WS_AUTH_KEY;
  const proc = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  servers.push(proc);
  proc.stderr.resume();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`ws-server ${args.join(' ')} did not start`)), WAIT);
    proc.on('exit', (code) => reject(new Error(`ws-server exited with ${code}`)));
    const lines = createInterface({ input: proc.stdout });
    lines.once('line', (line) => {
      clearTimeout(t);
      const m = /^Listening on ws:\/\/(\S+)$/.exec(line);
      if (m) resolve({ proc, addr: m[1] });
      else reject(new Error(`unexpected first line ${JSON.stringify(line)}`));
      lines.on('line', () => {}); // keep draining the transcript
    });
  });
}
function stopServer(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode != null || proc.signalCode != null) return resolve();
    const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    proc.once('exit', () => { clearTimeout(t); resolve(); });
    proc.kill('SIGTERM');
  });
}

// Every console error and uncaught exception of a page, since the last reset.
function watch(page) {
  const seen = { errors: [], exceptions: [] };
  page.on('console', (m) => { if (m.type() === 'error') seen.errors.push(m.text()); });
  page.on('pageerror', (e) => seen.exceptions.push(String(e.message || e)));
  return seen;
}
// Console errors a browser itself prints for a refused or unreachable WebSocket / fetch: not
// the page's doing, and unavoidable when a server refuses or goes away.
const NETWORK_NOISE = /^(WebSocket connection to .* failed|Failed to load resource: net::ERR_CONNECTION_REFUSED)/;

const bubbles = (page, kind) => page.locator(`#log .msg.${kind}`);
const say = async (page, text) => {
  await page.locator('#input').fill(text);
  await page.locator('#input').press('Enter');
  // The page clears the field once it has sent the line: wait for that before the next one,
  // so a slow machine never has two lines in flight through the field.
  await page.waitForFunction(() => document.getElementById('input').value === '');
};

const browser = await launch();
const { context } = browser;
try {
  // ------------------------------------------------------------- conversation at phone width
  const chat = await startServer(['--listen', '127.0.0.1:0']);
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(WAIT);
  await page.setViewportSize({ width: 375, height: 700 });
  const seen = watch(page);
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(`http://${chat.addr}/`, { waitUntil: 'load' });

  await check('conversation', async () => {
    await bubbles(page, 'them').filter({ hasText: GREETING }).waitFor();
    const status = (await page.locator('#status').innerText()).trim();
    if (status !== 'connected') return `#status says ${JSON.stringify(status)}`;
    await say(page, 'i need help');
    await bubbles(page, 'me').filter({ hasText: 'i need help' }).waitFor();
    await bubbles(page, 'them').filter({ hasText: HELP }).waitFor();
    if (await page.locator('#input').inputValue() !== '') return 'the input was not cleared';
    // Ours on the right, the server's on the left, each with a time.
    const mine = await bubbles(page, 'me').first().boundingBox();
    const theirs = await bubbles(page, 'them').first().boundingBox();
    const width = await page.evaluate(() => document.getElementById('log').clientWidth);
    if (!(mine.x + mine.width > width - 40)) return `our bubble is not on the right: ${JSON.stringify(mine)}`;
    if (!(theirs.x < 40)) return `the server's bubble is not on the left: ${JSON.stringify(theirs)}`;
    const colours = await page.evaluate(() => ['me', 'them'].map((k) =>
      getComputedStyle(document.querySelector(`#log .msg.${k}`)).backgroundColor));
    if (colours[0] === colours[1]) return `both kinds of bubble are ${colours[0]}`;
    for (const kind of ['me', 'them']) {
      const t = await bubbles(page, kind).first().locator('time').innerText();
      if (!/\d{1,2}\D\d{2}/.test(t)) return `no time on a ${kind} bubble: ${JSON.stringify(t)}`;
    }
    // Enough messages to overflow the log: it stays scrolled to the newest.
    for (let i = 0; i < 12; i++) await say(page, `hello number ${i}`);
    await bubbles(page, 'me').filter({ hasText: 'hello number 11' }).last().waitFor();
    await page.waitForFunction(() => document.querySelectorAll('#log .msg.them').length >= 14);
    const gap = await page.evaluate(() => {
      const l = document.getElementById('log');
      return { overflow: l.scrollHeight > l.clientHeight, gap: l.scrollHeight - l.scrollTop - l.clientHeight };
    });
    if (!gap.overflow) return 'the log never overflowed, auto-scroll untested';
    if (gap.gap > 5) return `the log is ${gap.gap}px above the newest message`;
    return null;
  });

  await check('phone-width', async () => {
    await say(page, 'x'.repeat(300) + ' ' + 'https://example.com/' + 'a/'.repeat(80));
    await bubbles(page, 'me').filter({ hasText: 'xxxxxxxxxx' }).waitFor();
    const m = await page.evaluate(() => ({
      inner: window.innerWidth,
      doc: document.documentElement.scrollWidth,
      body: document.body.scrollWidth,
      log: document.getElementById('log').scrollWidth,
      logClient: document.getElementById('log').clientWidth,
    }));
    if (m.inner !== 375) return `viewport is ${m.inner}px`;
    if (m.doc > m.inner || m.body > m.inner) return `page scrolls sideways: ${JSON.stringify(m)}`;
    if (m.log > m.logClient) return `the log scrolls sideways: ${JSON.stringify(m)}`;
    const send = await page.locator('#send').boundingBox();
    if (send.x + send.width > m.inner) return `the Send button is cut off: ${JSON.stringify(send)}`;
    return null;
  });

  await check('favicon', async () => {
    const href = await page.locator('link[rel="icon"]').getAttribute('href');
    if (!href || !href.startsWith('data:image/')) return `icon href ${href}`;
    const other = requests.filter((u) => !u.startsWith('data:') && u !== `http://${chat.addr}/`);
    if (other.length) return `the page load requested ${other.join(', ')}`;
    return null;
  });

  await check('screenshot', async () => {
    await page.screenshot({ path: join(outDir, 'chat-ui-phone.png') });
    return null;
  });

  await check('no-console-errors', async () => {
    if (seen.exceptions.length) return `uncaught: ${seen.exceptions.join(' | ')}`;
    if (seen.errors.length) return `console errors: ${seen.errors.join(' | ')}`;
    return null;
  });

  // ------------------------------------------------------------- reconnect on the same port
  await check('reconnect', async () => {
    const greetings = await bubbles(page, 'them').filter({ hasText: GREETING }).count();
    const port = chat.addr.split(':').pop();
    await stopServer(chat.proc);
    await page.locator('#log .msg.info').filter({ hasText: 'disconnected (code 1001' }).waitFor();
    await page.waitForFunction(() => document.body.dataset.state === 'waiting');
    const status = await page.locator('#status').innerText();
    if (!/retrying in \d+ s/.test(status)) return `#status says ${JSON.stringify(status)} while offline`;
    if (!await page.locator('#reconnect').isVisible()) return 'no visible "Reconnect now" button';
    if (await page.locator('#token-form').isVisible()) return 'a stopped server was taken for a refusal';
    await startServer(['--listen', `127.0.0.1:${port}`]);
    await page.locator('#log .msg.info').filter({ hasText: 'reconnected' }).waitFor({ timeout: 40_000 });
    await page.waitForFunction((n) => [...document.querySelectorAll('#log .msg.them')]
      .filter((e) => e.textContent.includes('Hi, how can I help you today?')).length > n, greetings);
    if ((await page.locator('#status').innerText()).trim() !== 'connected') return 'not connected again';
    await say(page, 'HELP');
    await page.waitForFunction((h) => {
      const all = document.querySelectorAll('#log .msg.them');
      return all.length && all[all.length - 1].textContent.includes(h);
    }, HELP);
    if (seen.exceptions.length) return `uncaught: ${seen.exceptions.join(' | ')}`;
    const ours = seen.errors.filter((e) => !NETWORK_NOISE.test(e));
    if (ours.length) return `console errors: ${ours.join(' | ')}`;
    return null;
  });

  // ------------------------------------------------------------- token prompt
  const locked = await startServer(['--listen', '127.0.0.1:0', '--auth-key', 's3cret']);
  const tpage = await context.newPage();
  tpage.setDefaultTimeout(WAIT);
  await tpage.setViewportSize({ width: 375, height: 700 });
  const tseen = watch(tpage);
  const upgrades = [];
  tpage.on('websocket', (w) => upgrades.push(w.url()));
  await tpage.goto(`http://${locked.addr}/`, { waitUntil: 'load' });
  await check('token-prompt', async () => {
    await tpage.locator('#token').waitFor({ state: 'visible' });
    const status = (await tpage.locator('#status').innerText()).trim();
    if (status !== 'token needed') return `#status says ${JSON.stringify(status)}`;
    const why = await tpage.locator('#token-why').innerText();
    if (!/token/i.test(why)) return `the prompt says ${JSON.stringify(why)}`;
    await tpage.screenshot({ path: join(outDir, 'chat-ui-token.png') });
    // A wrong token: refused again, and the page says so.
    await tpage.locator('#token').fill('wrong');
    await tpage.locator('#token').press('Enter');
    await tpage.waitForFunction(() => document.body.dataset.state === 'refused' &&
      document.getElementById('token-why').textContent.includes('with this access token'));
    // The right one.
    await tpage.locator('#token').fill('s3cret');
    await tpage.locator('#token-send').click();
    await bubbles(tpage, 'them').filter({ hasText: GREETING }).waitFor();
    if (await tpage.locator('#token-form').isVisible()) return 'the token field is still shown';
    if (!upgrades.some((u) => new URL(u).searchParams.get('accessToken') === 's3cret')) {
      return `no upgrade carried ?accessToken=s3cret: ${upgrades.join(', ')}`;
    }
    await say(tpage, 'hello');
    await bubbles(tpage, 'me').filter({ hasText: 'hello' }).waitFor();
    if (tseen.exceptions.length) return `uncaught: ${tseen.exceptions.join(' | ')}`;
    const ours = tseen.errors.filter((e) => !NETWORK_NOISE.test(e));
    if (ours.length) return `console errors: ${ours.join(' | ')}`;
    return null;
  });
  console.log('DONE');
} finally {
  await browser.close();
  await Promise.all(servers.map(stopServer));
}
