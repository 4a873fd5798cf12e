#!/usr/bin/env bash
# Load, churn and graceful-shutdown soak against ws-server (release build), driven by
# examples/soak.rs. Not part of `cargo test`.
#
#   scripts/soak.sh          full run: 1000 connections, 5 min echo + 5 min room, 100 000 churn
#                            cycles, shutdown under load with 1000 busy clients (about 12 min)
#   scripts/soak.sh --ci     short run (about 60 s after the build): 200 connections, 20 s echo +
#                            20 s room, 5 000 churn cycles, shutdown with 200 busy clients
#
# Overridable through the environment: SOAK_CONNS, SOAK_SECS (per mode), SOAK_CHURN,
# SOAK_SHUTDOWN_CONNS, SOAK_ROOM_SENDERS, SOAK_ROOM_RATE (messages/s per sender), SOAK_INPROC=1
# (drive the in-process servers of examples/soak.rs instead of the ws-server binary).
# Exit status 0 only if every phase passed; a summary of the figures is printed at the end.
set -uo pipefail
cd "$(dirname "$0")/.."

ci=0
[ "${1:-}" = "--ci" ] && ci=1
if [ $ci = 1 ]; then
  conns=${SOAK_CONNS:-200}; secs=${SOAK_SECS:-20}; cycles=${SOAK_CHURN:-5000}
  shut=${SOAK_SHUTDOWN_CONNS:-200}; senders=${SOAK_ROOM_SENDERS:-10}; rate=${SOAK_ROOM_RATE:-10}
else
  conns=${SOAK_CONNS:-1000}; secs=${SOAK_SECS:-300}; cycles=${SOAK_CHURN:-100000}
  shut=${SOAK_SHUTDOWN_CONNS:-1000}; senders=${SOAK_ROOM_SENDERS:-10}; rate=${SOAK_ROOM_RATE:-2}
fi

# Each connection costs the driver and the server a few descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

export CARGO_TERM_COLOR=never
inproc=${SOAK_INPROC:-0}
if [ "$inproc" != 1 ] && [ ! -d src/bin/ws-server ]; then
  echo "== ws-server is not in this tree: using the in-process servers of examples/soak.rs"
  inproc=1
fi
echo "== building (release)"
if [ "$inproc" = 1 ]; then
  cargo build -q --release --example soak || exit 2
else
  cargo build -q --release --example soak --bin ws-server || exit 2
fi
tdir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
tdir=${tdir:-target}
soak="$tdir/release/examples/soak"
server_bin="$tdir/release/ws-server"
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# start_server APP: starts ws-server on a free port; sets server_pid and url.
start_server() {
  local app=$1 out="$work/server-$1.out"
  "$server_bin" --app "$app" --listen 127.0.0.1:0 --quiet >"$out" 2>"$work/server-$1.err" &
  server_pid=$!
  local line=""
  for _ in $(seq 1 100); do
    line=$(head -n1 "$out" 2>/dev/null)
    [ -n "$line" ] && break
    sleep 0.1
  done
  case $line in
    "Listening on ws://"*) url="${line#Listening on }/" ;;
    *) echo "ws-server did not start: $line" >&2; cat "$work/server-$1.err" >&2; exit 2 ;;
  esac
}

# stop_server: waits (bounded) for the server to exit after the shutdown phase's signal.
wait_server_exit() {
  local i
  for i in $(seq 1 150); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$server_pid" 2>/dev/null; then
    echo "  ! ws-server still running 15 s after the signal"
    kill -KILL "$server_pid"
    failed=1
  fi
  wait "$server_pid" 2>/dev/null
  echo "  ws-server exit status: $?"
  server_pid=""
}

failed=0
results="$work/results"
phase() {
  # phase NAME ARGS...: runs the driver, keeps its output, records PASS/FAIL lines.
  local name=$1; shift
  echo "== $name"
  "$soak" "$@" 2>&1 | tee "$work/$name.log"
  local rc=${PIPESTATUS[0]}
  [ $rc = 0 ] || failed=1
  grep -E '^(load|churn|shutdown|  server|  sent)' "$work/$name.log" >>"$results"
}

start=$(date +%s)
for app in echo room; do
  extra=(--mode "$app" --conns "$conns" --secs "$secs" --senders "$senders" --rate "$rate")
  if [ "$inproc" = 1 ]; then
    phase "load-$app" load --inproc "${extra[@]}"
    [ "$app" = echo ] && phase churn churn --inproc --cycles "$cycles"
    phase "shutdown-$app" shutdown --inproc --mode "$app" --conns "$shut" --senders "$senders" --rate "$rate"
  else
    start_server "$app"
    phase "load-$app" load --url "$url" --pid "$server_pid" "${extra[@]}"
    [ "$app" = echo ] && phase churn churn --url "$url" --pid "$server_pid" --cycles "$cycles"
    sig=TERM; [ "$app" = room ] && sig=INT
    phase "shutdown-$app" shutdown --url "$url" --pid "$server_pid" --signal "$sig" --mode "$app" --conns "$shut" --senders "$senders" --rate "$rate"
    wait_server_exit
  fi
done
echo
echo "== summary ($(( $(date +%s) - start )) s, $([ "$inproc" = 1 ] && echo in-process servers || echo ws-server))"
cat "$results"
if [ $failed = 0 ]; then echo "SOAK PASS"; else echo "SOAK FAIL"; fi
exit $failed
