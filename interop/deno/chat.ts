// The chat conversation of the Deno WebSockets article, against ws6455's `ws-server` (chat app).
// Written the article's way: `new WebSocket(url)`, `onopen`/`onmessage`/`onclose`, `send`; the
// user's typed lines come from a script instead of `prompt()`, and `exit` closes the connection.
// Usage: deno run --allow-net chat.ts URL
// Prints `PASS deno-client chat-article` or `FAIL deno-client chat-article: <why>`, then `DONE`.

const url = Deno.args[0];
const typed = ["hello", "i need help", "what is the weather on mars", "exit"];
const expected = [
  "Hi, how can I help you today?", // greeting, sent by the server on connect
  "Hi, how can I help you today?", // hello
  "Sure, I am here to help. Can you briefly describe the problem.", // i need help
  "Sorry, I am unable to understand you.", // a line the bot does not know
];
const received: string[] = [];

function report(err: string | null) {
  console.log(err === null ? "PASS deno-client chat-article" : `FAIL deno-client chat-article: ${err}`);
  console.log("DONE");
  Deno.exit(0);
}

const timer = setTimeout(() => report(`timed out; received ${JSON.stringify(received)}`), 20_000);

console.error("Connecting to server ...");
let ws: WebSocket;
try {
  ws = new WebSocket(url);
} catch (err) {
  report(`failed to connect: ${err}`);
  throw err;
}
ws.onopen = connected;
ws.onmessage = (m) => processMessage(ws, m);
ws.onclose = disconnected;
ws.onerror = (e) => console.error("error:", (e as ErrorEvent).message);

function connected() {
  console.error("Connected to server ...");
}

function disconnected(e: CloseEvent) {
  console.error("Disconnected from server ...");
  clearTimeout(timer);
  if (JSON.stringify(received) !== JSON.stringify(expected)) {
    return report(`received ${JSON.stringify(received)}, expected ${JSON.stringify(expected)}`);
  }
  if (!e.wasClean) return report(`close was not clean (code ${e.code})`);
  report(null);
}

function processMessage(ws: WebSocket, m: MessageEvent) {
  console.error("SERVER >> " + m.data);
  received.push(String(m.data));
  const reply = typed.shift() ?? "exit";
  if (reply === "exit") return ws.close();
  console.error("Client >> " + reply);
  ws.send(reply);
}
