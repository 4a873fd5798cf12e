#!/usr/bin/env bash
# Interop suite: ws6455's server and client against real peers, installed from their registries:
#   Python `websockets` (PyPI, venv in interop/.venv), Node `ws` (npm, interop/node_modules),
#   Deno (npm package `deno`), and Debian's `chromium` driven by `playwright-core` (npm).
# Prints `PASS peer case` / `FAIL peer case: why` per peer and case, then exactly
# `interop: N passed, M failed`; exits non-zero on any failure.
# Installs are idempotent (a rerun skips what is already there). Every process started here is
# stopped on exit and every wait is bounded. Logs and the chat page screenshots: interop/out/.
# See docs/interop.md.
#
# Environment:
#   WS6455_BIN_DIR  run against prebuilt `ws-server` and `interop_client` from this directory
#                   instead of building them with cargo.
#   INTEROP_ONLY    run only some sections: comma-separated of server,client,chat,auth,conformance.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
IO=$ROOT/interop
OUT=$IO/out
LOGS=$OUT/logs
mkdir -p "$LOGS"
rm -f "$LOGS"/* "$OUT/results.txt"
RESULTS=$OUT/results.txt
: >"$RESULTS"
STARTED=$SECONDS

say() { printf '== [%3ss] %s\n' "$((SECONDS - STARTED))" "$*"; }
record() { # record LINE: a PASS/FAIL/SKIP/NOTE line, printed and kept for the summary
  printf '%s\n' "$1" | tee -a "$RESULTS"
}
fatal_setup() { # a setup step failed: report it as a failure, summarise, stop
  record "FAIL setup $1"
  summary
  exit 1
}
summary() {
  local passed failed
  passed=$(grep -c '^PASS ' "$RESULTS")
  failed=$(grep -c '^FAIL ' "$RESULTS")
  echo "interop: $passed passed, $failed failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}
want() { [ -z "${INTEROP_ONLY:-}" ] || [[ ",$INTEROP_ONLY," == *",$1,"* ]]; }

# ---------------------------------------------------------------- processes, all bounded
PIDS=()
cleanup() {
  local pid
  if [ -n "${RUNNING:-}" ]; then kill -TERM "$RUNNING" 2>/dev/null; wait "$RUNNING" 2>/dev/null; fi
  for pid in "${PIDS[@]}"; do
    # each server runs in its own process group (setsid): stop the group, then reap it
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME CMD...: starts CMD in its own process group, waits (bounded) for its first
# stdout line `Listening on ws://ADDR` and sets URL=ws://ADDR/ and SERVER_PID.
start_server() {
  local name=$1 line addr
  shift
  setsid "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err" </dev/null &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  URL=
  for _ in $(seq 300); do
    line=$(head -n 1 "$LOGS/$name.out" 2>/dev/null)
    if [[ $line =~ ^Listening\ on\ ws://([^/[:space:]]+) ]]; then
      addr=${BASH_REMATCH[1]}
      URL="ws://$addr/"
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "   $name did not start; stdout: $(head -c 300 "$LOGS/$name.out"); stderr: $(tail -c 600 "$LOGS/$name.err")"
  return 1
}

stop_server() {
  kill -TERM -- "-$SERVER_PID" 2>/dev/null || kill -TERM "$SERVER_PID" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
}

# bounded SECONDS CMD...: runs CMD under timeout(1) (which signals CMD's whole process group, so
# a browser started by a driver goes too); kept in RUNNING so that cleanup can stop it early.
RUNNING=
bounded() {
  local limit=$1 rc
  shift
  timeout -k 10 "$limit" "$@" &
  RUNNING=$!
  wait "$RUNNING"
  rc=$?
  RUNNING=
  return "$rc"
}

# run_peer PEER LOGNAME EXPECTED TIMEOUT CMD...: runs a peer script that prints PASS/FAIL lines
# and then DONE; records its lines, and a FAIL if it crashed, hung or reported too few cases.
run_peer() {
  local peer=$1 name=$2 expected=$3 limit=$4 rc count
  shift 4
  bounded "$limit" "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err" </dev/null
  rc=$?
  grep -E '^(PASS|FAIL|NOTE) ' "$LOGS/$name.out" | while IFS= read -r l; do record "$l"; done
  count=$(grep -cE '^(PASS|FAIL) ' "$LOGS/$name.out")
  if ! grep -qx DONE "$LOGS/$name.out" || [ "$count" -lt "$expected" ]; then
    local why="exit code $rc"
    [ "$rc" -eq 124 ] && why="timed out after ${limit}s"
    record "FAIL $peer run: $why, $count of $expected cases reported; stderr: $(tail -c 400 "$LOGS/$name.err" | tr '\n' ' ')"
  fi
}

# run_our_client PEER [ARGS]: ws6455's interop_client example against the peer server at $URL.
run_our_client() {
  local peer=$1 rc count
  bounded 300 "$INTEROP_CLIENT" "$URL" "${@:2}" >"$LOGS/ws6455-client-vs-$peer.out" \
    2>"$LOGS/ws6455-client-vs-$peer.err" </dev/null
  rc=$?
  sed -nE "s/^(PASS|FAIL|NOTE) /\\1 $peer /p" "$LOGS/ws6455-client-vs-$peer.out" |
    while IFS= read -r l; do record "$l"; done
  count=$(grep -cE '^(PASS|FAIL) ' "$LOGS/ws6455-client-vs-$peer.out")
  if [ "$rc" -gt 1 ] || [ "$count" -lt "$CLIENT_CASES" ]; then
    local why="exit code $rc"
    [ "$rc" -eq 124 ] && why="timed out"
    record "FAIL $peer run: interop_client $why, $count of $CLIENT_CASES cases reported; stderr: $(tail -c 400 "$LOGS/ws6455-client-vs-$peer.err" | tr '\n' ' ')"
  fi
}

# ---------------------------------------------------------------- installs (idempotent)
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }

install_chromium() {
  if dpkg -s chromium fonts-liberation >/dev/null 2>&1 && [ -x /usr/bin/chromium ]; then
    return 0
  fi
  say "installing chromium (apt)"
  export DEBIAN_FRONTEND=noninteractive
  as_root timeout 300 apt-get -o DPkg::Lock::Timeout=120 update -qq >"$LOGS/apt.log" 2>&1 &&
    as_root timeout 900 apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends \
      chromium fonts-liberation >>"$LOGS/apt.log" 2>&1
}

install_python() {
  local venv=$IO/.venv req=$IO/python/requirements.txt
  if [ -x "$venv/bin/python" ] && cmp -s "$req" "$venv/.installed-requirements"; then
    return 0
  fi
  say "installing Python websockets (pip, venv in interop/.venv)"
  { [ -x "$venv/bin/python" ] || timeout 120 python3 -m venv "$venv"; } >"$LOGS/pip.log" 2>&1 &&
    timeout 300 "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" \
      >>"$LOGS/pip.log" 2>&1 &&
    cp "$req" "$venv/.installed-requirements"
}

install_node() {
  if [ -d "$IO/node_modules" ] && cmp -s "$IO/package-lock.json" "$IO/node_modules/.installed-lock"; then
    return 0
  fi
  say "installing ws, playwright-core, deno (npm ci in interop/)"
  (cd "$IO" && timeout 300 npm ci --no-audit --no-fund --loglevel=error) >"$LOGS/npm.log" 2>&1 &&
    cp "$IO/package-lock.json" "$IO/node_modules/.installed-lock"
}

say "installing peers"
install_chromium || fatal_setup "chromium: apt-get failed: $(tail -c 600 "$LOGS/apt.log")"
install_python || fatal_setup "python websockets: pip failed: $(tail -c 600 "$LOGS/pip.log")"
install_node || fatal_setup "npm ci failed: $(tail -c 600 "$LOGS/npm.log")"

PY=$IO/.venv/bin/python
DENO=$IO/node_modules/.bin/deno
export DENO_DIR=$IO/.deno DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1 NO_COLOR=1
"$DENO" --version >"$LOGS/deno-version.log" 2>&1 || fatal_setup "deno does not run: $(cat "$LOGS/deno-version.log")"
/usr/bin/chromium --version >"$LOGS/chromium-version.log" 2>/dev/null ||
  fatal_setup "chromium does not run"
say "peers: python websockets $("$PY" -c 'import websockets; print(websockets.__version__)'), node $(node --version), ws $(node -p "require('$IO/node_modules/ws/package.json').version"), $(head -n 1 "$LOGS/deno-version.log"), $(tail -n 1 "$LOGS/chromium-version.log"), playwright-core $(node -p "require('$IO/node_modules/playwright-core/package.json').version")"

DENO_RUN=("$DENO" run --quiet --no-prompt --allow-net)

# ---------------------------------------------------------------- our binaries
# Which of our targets exist? (ws-server is the binaries helper's, interop_client the example.)
HAVE_SERVER=0
HAVE_CLIENT=0
if [ -n "${WS6455_BIN_DIR:-}" ]; then
  BIN=$WS6455_BIN_DIR
  [ -x "$BIN/ws-server" ] && HAVE_SERVER=1
  [ -x "$BIN/interop_client" ] && HAVE_CLIENT=1
else
  META=$(cargo metadata --no-deps --format-version 1 2>"$LOGS/cargo-metadata.err") ||
    fatal_setup "cargo metadata failed: $(tail -c 600 "$LOGS/cargo-metadata.err")"
  read -r TARGET_DIR HAVE_SERVER HAVE_CLIENT < <(node -e '
    const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const t = m.packages.flatMap((p) => p.targets);
    const has = (kind, name) => t.some((x) => x.kind.includes(kind) && x.name === name) ? 1 : 0;
    console.log(m.target_directory, has("bin", "ws-server"), has("example", "interop_client"));
  ' <<<"$META")
  BIN=$TARGET_DIR/release
  if [ "$HAVE_SERVER$HAVE_CLIENT" != 00 ]; then
    say "building our binaries (cargo build --release --bins --examples)"
    timeout 1800 cargo build --release --bins --examples >"$LOGS/cargo-build.log" 2>&1 ||
      fatal_setup "cargo build --release --bins --examples failed: $(grep -m 5 -A 5 '^error' "$LOGS/cargo-build.log")"
  fi
fi
WS_SERVER=$BIN/ws-server
INTEROP_CLIENT=$BIN/examples/interop_client
[ -n "${WS6455_BIN_DIR:-}" ] && INTEROP_CLIENT=$BIN/interop_client
CLIENT_CASES=17   # cases interop_client runs
PEER_CASES=17     # interop/python/client.py and interop/node/client.mjs
WEB_CASES=16      # interop/web/cases.js (no ping in the WebSocket API)

# ws-server under test, never picking up an auth key from the caller's environment
our_server() { start_server "$1" env -u WS_AUTH_KEY "$WS_SERVER" "${@:2}"; }

# ---------------------------------------------------------------- 1. peers' clients -> our server
if want server; then
  if [ "$HAVE_SERVER" = 1 ]; then
    say "peer clients against ws-server --app echo"
    if our_server ws-server-echo --app echo --listen 127.0.0.1:0; then
      run_peer python-client python-client "$PEER_CASES" 180 "$PY" "$IO/python/client.py" "$URL" python-client
      run_peer node-client node-client "$PEER_CASES" 180 node "$IO/node/client.mjs" "$URL" node-client
      run_peer deno-client deno-client "$WEB_CASES" 180 "${DENO_RUN[@]}" "$IO/deno/client.ts" "$URL" deno-client
      run_peer chromium-client chromium-client "$WEB_CASES" 180 node "$IO/browser/client.mjs" "$URL" chromium-client
      stop_server
    else
      record "FAIL ws-server start: ws-server --app echo did not print its address"
    fi
  else
    record "SKIP peer clients against ws-server: no ws-server binary target in this tree yet"
  fi
fi

# ---------------------------------------------------------------- 2. our client -> peers' servers
if want client; then
  if [ "$HAVE_CLIENT" = 1 ]; then
    say "ws6455 client (examples/interop_client) against peer servers"
    for peer in python-server node-server deno-server; do
      case $peer in
        python-server) cmd=("$PY" "$IO/python/server.py") ;;
        node-server) cmd=(node "$IO/node/server.mjs") ;;
        deno-server) cmd=("${DENO_RUN[@]}" "$IO/deno/server.ts") ;;
      esac
      # Deno's server cannot negotiate permessage-deflate: its deflate case only notes it.
      extra=()
      [ "$peer" = deno-server ] && extra=(--deflate-optional)
      if start_server "$peer" "${cmd[@]}"; then
        run_our_client "$peer" "${extra[@]}"
        stop_server
      else
        record "FAIL $peer start: the peer server did not print its address"
      fi
    done
  else
    record "SKIP ws6455 client against peer servers: no interop_client example target in this tree yet"
  fi
fi

# Without our binaries, check the peers against each other so the suite itself is known-good.
if [ "$HAVE_SERVER" = 0 ] && [ "$HAVE_CLIENT" = 0 ] && { want server || want client; }; then
  say "peer-vs-peer sanity run (our binaries are not in this tree yet)"
  if start_server node-server-sanity node "$IO/node/server.mjs"; then
    run_peer python-client@node-server py-vs-node "$PEER_CASES" 180 "$PY" "$IO/python/client.py" "$URL" python-client@node-server
    run_peer chromium-client@node-server chromium-vs-node "$WEB_CASES" 180 node "$IO/browser/client.mjs" "$URL" chromium-client@node-server
    stop_server
  fi
  if start_server python-server-sanity "$PY" "$IO/python/server.py"; then
    run_peer node-client@python-server node-vs-py "$PEER_CASES" 180 node "$IO/node/client.mjs" "$URL" node-client@python-server
    stop_server
  fi
  if start_server deno-server-sanity "${DENO_RUN[@]}" "$IO/deno/server.ts"; then
    run_peer deno-client@deno-server deno-vs-deno "$WEB_CASES" 180 "${DENO_RUN[@]}" "$IO/deno/client.ts" "$URL" deno-client@deno-server
    stop_server
  fi
fi

# ---------------------------------------------------------------- 3. the article's chat app
if want chat; then
  if [ "$HAVE_SERVER" = 1 ]; then
    say "the article's chat conversation against ws-server (chat app)"
    if our_server ws-server-chat --listen 127.0.0.1:0; then
      run_peer deno-client deno-chat 1 60 "${DENO_RUN[@]}" "$IO/deno/chat.ts" "$URL"
      HTTP_URL=http${URL#ws}
      run_peer chromium-page chromium-page 5 120 node "$IO/browser/chat-page.mjs" "$HTTP_URL" "$OUT/chat-page.png"
      stop_server
      # The page as a person uses it (bubbles, phone width, token prompt, reconnect): the
      # script starts and restarts its own ws-server processes on 127.0.0.1.
      run_peer chromium-ui chromium-ui 7 240 node "$IO/browser/chat-ui.mjs" "$WS_SERVER" "$OUT"
    else
      record "FAIL ws-server start: ws-server (chat app) did not print its address"
    fi
  else
    record "SKIP chat app (Deno article client, Chromium page): no ws-server binary target in this tree yet"
  fi
fi

# ---------------------------------------------------------------- 4. auth
if want auth; then
  if [ "$HAVE_SERVER" = 1 ]; then
    say "auth: ws-server --auth-key s3cret"
    if our_server ws-server-auth --listen 127.0.0.1:0 --auth-key s3cret; then
      run_peer deno-client deno-auth 3 60 "${DENO_RUN[@]}" "$IO/deno/auth.ts" "$URL" s3cret
      run_peer chromium-client chromium-auth 3 120 node "$IO/browser/auth.mjs" "$URL" s3cret
      run_peer python-client python-auth 3 60 "$PY" "$IO/python/auth.py" "$URL" s3cret
      stop_server
    else
      record "FAIL ws-server start: ws-server --auth-key did not print its address"
    fi
  else
    record "SKIP auth (Deno, Chromium, Python): no ws-server binary target in this tree yet"
  fi
fi

# ---------------------------------------------------------------- 5. ws-conformance vs peers
# ws-conformance against the Python websockets and Node ws echo servers (server mode) and their
# clients through interop/conformance/client_adapter.* (client mode); every verdict must match
# tests/conformance_peers/PEER.txt (explained in docs/conformance.md). HTML reports:
# interop/out/conformance/PEER/index.html. (tungstenite's run is in tests/conformance_tungstenite.rs.)
if want conformance; then
  if [ -x "$BIN/ws-conformance" ]; then
    say "ws-conformance against Python websockets and Node ws echo servers"
    run_peer conformance conformance 5 1500 "$IO/conformance/run.sh" "$BIN/ws-conformance" "$PY" "$OUT/conformance"
  else
    record "SKIP ws-conformance against peers: no ws-conformance binary in $BIN"
  fi
fi

say "done in $((SECONDS - STARTED))s; logs in interop/out/logs"
cleanup
summary
