#!/usr/bin/env bash
# ws-conformance against real peers, each run compared with its recorded verdicts
# (tests/conformance_peers/PEER.txt, explained in docs/conformance.md):
#   server mode: python-websockets  interop/conformance/echo_server.py   (run with
#                                   --max-message-size 1M: websockets' default limit)
#                node-ws            interop/conformance/echo_server.mjs  (maxPayload 64 MiB)
#                node-ws-deflate    the same with WS_PMD=1 (ws's permessage-deflate on)
#   client mode: python-websockets-client, node-ws-client: client_adapter.py / .mjs
# Usage: interop/conformance/run.sh WS_CONFORMANCE PYTHON OUT_DIR
# Prints `PASS conformance-PEER ...` or `FAIL conformance-PEER: ...` per run (5), then DONE.
# Every process it starts is stopped on exit; every wait is bounded. Reports: OUT_DIR/PEER/.
set -uo pipefail
TESTER=$1 PY=$2 OUT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
mkdir -p "$OUT"
PID=
stop() {
  if [ -n "$PID" ]; then
    kill -TERM "$PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
    PID=
  fi
}
trap stop EXIT

for peer in python-websockets node-ws node-ws-deflate; do
  case $peer in
    python-websockets) cmd=("$PY" "$HERE/echo_server.py"); extra=(--max-message-size 1M) ;;
    node-ws) cmd=(node "$HERE/echo_server.mjs"); extra=() ;;
    node-ws-deflate) cmd=(env WS_PMD=1 node "$HERE/echo_server.mjs"); extra=() ;;
  esac
  "${cmd[@]}" >"$OUT/$peer-server.out" 2>"$OUT/$peer-server.err" </dev/null &
  PID=$!
  url=
  for _ in $(seq 100); do
    line=$(head -n 1 "$OUT/$peer-server.out" 2>/dev/null)
    if [[ $line =~ ^Listening\ on\ (ws://[^[:space:]]+) ]]; then url=${BASH_REMATCH[1]}/; break; fi
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$url" ]; then
    echo "FAIL conformance-$peer: the echo server did not start: $(tail -c 300 "$OUT/$peer-server.err" | tr '\n' ' ')"
    stop
    continue
  fi
  timeout -k 5 600 "$TESTER" server "$url" --timeout 20 "${extra[@]}" --quiet \
    --expect "$ROOT/tests/conformance_peers/$peer.txt" --report "$OUT/$peer" \
    >"$OUT/$peer.out" 2>"$OUT/$peer.err"
  rc=$?
  counts=$(grep -m 1 '^ws-conformance: \(PASS\|FAIL\) mode=' "$OUT/$peer.out")
  if [ "$rc" -eq 0 ] && grep -q '^ws-conformance: EXPECT MATCH' "$OUT/$peer.out"; then
    echo "PASS conformance-$peer every verdict as recorded (${counts#ws-conformance: })"
  else
    echo "FAIL conformance-$peer: exit $rc, verdicts differ from tests/conformance_peers/$peer.txt: $(grep -m 5 'differs:' "$OUT/$peer.out" | cut -c 1-200 | tr '\n' ' ')$(tail -c 300 "$OUT/$peer.err" | tr '\n' ' ') (report: $OUT/$peer/index.html)"
  fi
  stop
done

# Client mode: the tester listens, the peer's client runs every case through its adapter.
for peer in python-websockets-client node-ws-client; do
  case $peer in
    python-websockets-client) adapter=("$PY" "$HERE/client_adapter.py"); extra=(--max-message-size 1M) ;;
    node-ws-client) adapter=(node "$HERE/client_adapter.mjs"); extra=() ;;
  esac
  "$TESTER" client --listen 127.0.0.1:0 --timeout 20 --idle-timeout 60 "${extra[@]}" --quiet \
    --expect "$ROOT/tests/conformance_peers/$peer.txt" --report "$OUT/$peer" \
    >"$OUT/$peer.out" 2>"$OUT/$peer.err" </dev/null &
  PID=$!
  url=
  for _ in $(seq 100); do
    line=$(head -n 1 "$OUT/$peer.out" 2>/dev/null)
    if [[ $line =~ ^Listening\ on\ (ws://[^[:space:]]+) ]]; then url=${BASH_REMATCH[1]}; break; fi
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$url" ]; then
    echo "FAIL conformance-$peer: the tester did not start: $(tail -c 300 "$OUT/$peer.err" | tr '\n' ' ')"
    stop
    continue
  fi
  timeout -k 5 600 "${adapter[@]}" "$url" >"$OUT/$peer-adapter.out" 2>"$OUT/$peer-adapter.err" </dev/null
  # The tester ends once every case has run; bounded wait, then its verdict.
  for _ in $(seq 600); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$PID" 2>/dev/null && stop
  wait "$PID" 2>/dev/null
  rc=$?
  PID=
  counts=$(grep -m 1 '^ws-conformance: \(PASS\|FAIL\) mode=' "$OUT/$peer.out")
  if [ "$rc" -eq 0 ] && grep -q '^ws-conformance: EXPECT MATCH' "$OUT/$peer.out"; then
    echo "PASS conformance-$peer every verdict as recorded (${counts#ws-conformance: })"
  else
    echo "FAIL conformance-$peer: exit $rc, verdicts differ from tests/conformance_peers/$peer.txt: $(grep -m 5 'differs:' "$OUT/$peer.out" | cut -c 1-200 | tr '\n' ' ')$(tail -c 300 "$OUT/$peer.err" | tr '\n' ' ') (report: $OUT/$peer/index.html)"
  fi
done
echo DONE
