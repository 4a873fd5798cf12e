// Auth with the access token in the URL (the article's way for clients that cannot send headers),
// against `ws-server --auth-key KEY`. Usage: deno run --allow-net auth.ts URL KEY
// Prints PASS/FAIL lines for deno-client, then DONE.
const [base, key] = Deno.args;

function attempt(url: string): Promise<{ opened: boolean; detail: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => resolve({ opened: false, detail: "timed out" }), 15_000);
    ws.onopen = () => {
      clearTimeout(timer);
      ws.onclose = null;
      ws.close();
      resolve({ opened: true, detail: "open" });
    };
    ws.onerror = (e) => {
      clearTimeout(timer);
      resolve({ opened: false, detail: (e as ErrorEvent).message ?? "error event" });
    };
  });
}

const sep = base.includes("?") ? "&" : "?";
const cases: [string, string, boolean][] = [
  ["auth-token-accepted", `${base}${sep}accessToken=${encodeURIComponent(key)}`, true],
  ["auth-token-wrong-refused", `${base}${sep}accessToken=${encodeURIComponent(key + "x")}`, false],
  ["auth-missing-refused", base, false],
];
for (const [name, url, shouldOpen] of cases) {
  const { opened, detail } = await attempt(url);
  let err: string | null = null;
  if (shouldOpen && !opened) err = `connection failed: ${detail}`;
  if (!shouldOpen && opened) err = "connection was accepted";
  if (!shouldOpen && !opened && !/403/.test(detail)) err = `refused, but not with 403: ${detail}`;
  console.log(err === null ? `PASS deno-client ${name}` : `FAIL deno-client ${name}: ${err}`);
}
console.log("DONE");
Deno.exit(0);
