// Interop server: Deno.serve + Deno.upgradeWebSocket echo server, for ws6455's client.
// Binds 127.0.0.1 on a free port and prints `Listening on ws://127.0.0.1:PORT` first.
// Echoes text as text and binary as binary; selects `chat` or `echo` when offered (the first
// offered one it supports), none otherwise.
const SUPPORTED = ["chat", "echo"];

Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen({ port }) {
    console.log(`Listening on ws://127.0.0.1:${port}`);
  },
}, (req) => {
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("expected a WebSocket upgrade", { status: 426 });
  }
  const offered = (req.headers.get("sec-websocket-protocol") ?? "")
    .split(",").map((p) => p.trim()).filter((p) => p);
  const protocol = offered.find((p) => SUPPORTED.includes(p));
  const { socket, response } = Deno.upgradeWebSocket(req, protocol ? { protocol } : {});
  socket.binaryType = "arraybuffer";
  socket.onmessage = (e) => socket.send(e.data);
  socket.onerror = () => {};
  return response;
});
