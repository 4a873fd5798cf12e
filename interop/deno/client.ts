// Interop client: Deno's built-in WebSocket against an echo server (ws6455's `ws-server --app echo`).
// Usage: deno run --allow-net client.ts URL [PEER_NAME]
// Prints one line per case, `PASS <peer> <case>` or `FAIL <peer> <case>: <why>`, then `DONE`.
import { runWebCase, WEB_CASES } from "../web/cases.js";

const url = Deno.args[0];
const peer = Deno.args[1] ?? "deno-client";
for (const name of WEB_CASES) {
  // Deno's WebSocket does not offer permessage-deflate: its `deflate` case notes it.
  let err = await runWebCase({ url, name, timeoutMs: 30_000, deflateOptional: true });
  if (err?.startsWith("NOTE: ")) {
    console.log(`NOTE ${peer} ${name}: ${err.slice(6)}`);
    err = null;
  }
  console.log(err == null ? `PASS ${peer} ${name}` : `FAIL ${peer} ${name}: ${err}`);
}
console.log("DONE");
Deno.exit(0);
