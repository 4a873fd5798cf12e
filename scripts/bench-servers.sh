#!/usr/bin/env bash
# Echo-server benchmarks: ws6455 (`ws-server --app echo`, or examples/echo_server when the
# binary is missing) against tungstenite (thread per connection), fastwebsockets (tokio) and a
# raw TCP echo server (thread per connection: the ceiling), all driven by examples/loadgen.
#
#   scripts/bench-servers.sh            # full run (about 10-15 minutes)
#   scripts/bench-servers.sh --quick    # short variant for CI (about 1-2 minutes once built)
#
# Exits with 1, after the table, if any run went wrong: a server that did not start, a load
# generator run without a result, or one that reports connection errors (`scripts/test.sh`
# runs the quick variant with every server for that check; its figures are not compared).
#
# Options: --quick, --rounds N, --secs S, --only LIST (comma-separated server names:
# ours,tungstenite,fastwebsockets,raw; base: a ws-server built before a change, at
# $BASE_BIN, for a same-run A/B; raw-ws: a byte echo behind a WebSocket handshake, the raw
# ceiling under the load generator's WebSocket frames, run for the stream, big and pingpong
# cases only), --example (use examples/echo_server for ours),
# --no-build (use the binaries already built), --cases REGEX (only the cases matching it).
# Environment: CARGO_TARGET_DIR is honoured; results also go to $OUT (default
# target/bench-servers/results.txt, one RESULT line per run).
#
# Servers run one at a time per measurement and the scenarios alternate servers A B C D A B C D,
# so slow drift of a shared machine hits every server alike; the table shows medians and ratios
# measured in the same run, then, per case, the median over rounds of ours / peer within one
# round (with its range), which the machine's speed drifting between rounds (the runs' own
# threads, other jobs) moves less. Loopback only; every loadgen run is bounded in time and count.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
QUICK=0
ROUNDS=""
SECS=""
ONLY="ours,tungstenite,fastwebsockets,raw"
FORCE_EXAMPLE=0
NO_BUILD=0
CASES_RE=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --rounds) ROUNDS="$2"; shift ;;
        --secs) SECS="$2"; shift ;;
        --only) ONLY="$2"; shift ;;
        --example) FORCE_EXAMPLE=1 ;;
        --no-build) NO_BUILD=1 ;;
        --cases) CASES_RE="$2"; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
if [ "$QUICK" = 1 ]; then
    ROUNDS="${ROUNDS:-2}"; SECS="${SECS:-0.5}"
else
    ROUNDS="${ROUNDS:-3}"; SECS="${SECS:-3}"
fi

TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="${OUT:-$TARGET/bench-servers/results.txt}"
mkdir -p "$(dirname "$OUT")"
: > "$OUT"

# 10 000 idle connections need as many descriptors in the loadgen and in the server.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

OURS_BIN=""
if [ "$FORCE_EXAMPLE" = 0 ] && [ -e src/bin/ws-server.rs -o -d src/bin/ws-server ]; then
    OURS_BIN="$TARGET/release/ws-server"
fi
if [ "$NO_BUILD" = 0 ]; then
    echo "== building (release)"
    if [ -n "$OURS_BIN" ]; then
        cargo build --release --quiet --bin ws-server
    fi
    cargo build --release --quiet --example echo_server --example loadgen
    cargo build --release --quiet --manifest-path benches/peers/Cargo.toml --target-dir "$TARGET/peers"
fi
LOADGEN="$TARGET/release/examples/loadgen"
PEERS="$TARGET/peers/release"

server_cmd() {
    case "$1" in
        ours)
            if [ -n "$OURS_BIN" ]; then
                echo "$OURS_BIN --app echo --listen 127.0.0.1:0 --quiet --max-connections 20000"
            else
                echo "$TARGET/release/examples/echo_server --listen 127.0.0.1:0 --max-connections 20000"
            fi ;;
        tungstenite) echo "$PEERS/tungstenite_echo --listen 127.0.0.1:0" ;;
        fastwebsockets) echo "$PEERS/fastwebsockets_echo --listen 127.0.0.1:0" ;;
        raw) echo "$PEERS/raw_echo --listen 127.0.0.1:0" ;;
        raw-ws) echo "$PEERS/raw_ws_echo --listen 127.0.0.1:0" ;;
        base) echo "${BASE_BIN:?set BASE_BIN to the ws-server to compare with} --app echo --listen 127.0.0.1:0 --quiet --max-connections 20000" ;;
    esac
}

BENCH_LOG_DIR="$TARGET/bench-servers"
# shellcheck source=scripts/bench-lib.sh
source "$ROOT/scripts/bench-lib.sh"

# raw-ws echoes frames still masked, which the full client (idle, connrate) rightly refuses.
skipped() {
    [ "$1" = raw-ws ] && [[ " $* " =~ " --scenario "(idle|connrate)" " ]]
}

# Runs that went wrong (a server that did not start, no RESULT line, connection errors):
# listed at the end, and the script then exits with 1. The figures say nothing about them.
FAILURES=()

# One measurement: a fresh server process, one loadgen run against it.
measure() {
    local name="$1"; shift
    skipped "$name" "$@" && return 0
    local raw=()
    [ "$name" = raw ] && raw=(--raw)
    if ! start_server "$name"; then
        FAILURES+=("$name $*: the server did not start")
        return 0
    fi
    local res="$BENCH_LOG_DIR/$name.result"
    "$LOADGEN" --url "$SERVER_URL" --label "$name" --server-pid "$SERVER_PID" "${raw[@]}" "$@" \
        > "$res" || true
    tee -a "$OUT" < "$res" | sed 's/^/   /'
    if ! grep -q '^RESULT ' "$res"; then
        FAILURES+=("$name $*: no result")
    elif grep -Eq '^RESULT .* (errors=[1-9]|error=|failed=[1-9])' "$res"; then
        FAILURES+=("$name $*: $(grep -Eo ' (errors=[0-9]+|error=[^ ]*|failed=[0-9]+)' "$res" | tr -d '\n' | sed 's/^ //')")
    fi
    stop_server
}

# System calls per message: one more run under `strace -c -f` (which slows the server, so
# its line is SYSCALLS, not RESULT, and only its system-call count is used).
count_syscalls() {
    local name="$1"; shift
    skipped "$name" "$@" && return 0
    local raw=()
    [ "$name" = raw ] && raw=(--raw)
    command -v strace > /dev/null || return 0
    start_server "$name" || return 0
    "$LOADGEN" --url "$SERVER_URL" --label "$name" --server-pid "$SERVER_PID" "${raw[@]}" "$@" \
        --syscalls | sed 's/^RESULT /SYSCALLS /' | tee -a "$OUT" | sed 's/^/   /' || true
    stop_server
}

IFS=, read -r -a SERVERS <<< "$ONLY"
if [ "$QUICK" = 1 ]; then
    CASES=(
        "--scenario pingpong --conns 1 --size 32"
        "--scenario pingpong --conns 50 --size 32"
        "--scenario stream --conns 8 --size 16 --window 64"
        "--scenario stream --conns 8 --size 64KiB --window 8"
        "--scenario big --size 1MiB"
        "--scenario connrate --conns 4"
        "--scenario idle --conns 1000 --size 32"
    )
else
    CASES=(
        "--scenario pingpong --conns 1 --size 32"
        "--scenario pingpong --conns 16 --size 32"
        "--scenario pingpong --conns 50 --size 32"
        "--scenario pingpong --conns 50 --size 1KiB"
        "--scenario pingpong --conns 256 --size 32"
        "--scenario stream --conns 8 --size 16 --window 64"
        "--scenario stream --conns 8 --size 1KiB --window 32"
        "--scenario stream --conns 4 --size 1KiB --window 64"
        "--scenario stream --conns 1 --size 64KiB --window 16"
        "--scenario stream --conns 8 --size 64KiB --window 8"
        "--scenario big --size 1MiB"
        "--scenario big --size 16MiB"
        "--scenario connrate --conns 4"
        "--scenario idle --conns 1000 --size 32"
        "--scenario idle --conns 10000 --size 32"
    )
fi

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "== NOTE: the load generator and the server share this machine's $(nproc) cores (and"
echo "   whatever else is running: load average $(cut -d' ' -f1-3 /proc/loadavg)); absolute"
echo "   numbers are noisy, the same-run ratios are the figures to read."
echo "== ours: ${OURS_BIN:-examples/echo_server}; rounds: $ROUNDS; seconds per run: $SECS"
for c in "${CASES[@]}"; do
    if [ -n "$CASES_RE" ] && ! [[ "$c" =~ $CASES_RE ]]; then continue; fi
    echo "== $c"
    secs="$SECS"
    case "$c" in *idle*) secs=60 ;; esac
    for r in $(seq 1 "$ROUNDS"); do
        for s in "${SERVERS[@]}"; do
            # shellcheck disable=SC2086
            measure "$s" $c --secs "$secs"
        done
    done
    case "$c" in
        *pingpong*|*stream*|*big*)
            for s in "${SERVERS[@]}"; do
                # shellcheck disable=SC2086
                count_syscalls "$s" $c --secs 1
            done ;;
    esac
done

echo
echo "== medians over $ROUNDS rounds (ratio = ours / peer; for latency, memory, system calls per message and server CPU lower is better)"
awk -v servers="$ONLY" "$AWK_MEDIAN"'
/^SYSCALLS / {
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    sc = f["scenario"]
    case_ = sc " c=" f["conns"] " size=" f["size"] (sc == "stream" ? " w=" f["window"] : "")
    key = case_ SUBSEP "syscalls_per_msg"
    if (!(key in seen)) { seen[key] = 1; order[++nkeys] = key }
    v[key, f["label"]] = v[key, f["label"]] " " f["syscalls_per_msg"]
    next
}
/^RESULT / {
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    sc = f["scenario"]
    case_ = sc " c=" f["conns"] " size=" f["size"] (sc == "stream" ? " w=" f["window"] : "")
    if (sc == "pingpong") m = "msgs_per_s p99_us server_cpu loadgen_cpu"
    else if (sc == "stream") m = "msgs_per_s mb_per_s server_cpu loadgen_cpu"
    else if (sc == "big") m = "mb_per_s server_cpu loadgen_cpu"
    else if (sc == "connrate") m = "conns_per_s"
    else if (sc == "idle") m = "rss_per_conn_kib alive server_threads"
    nm = split(m, ms, " ")
    # The headline figure of each run, in run order per server, for the per-round ratios.
    if (!(case_ in pseen)) { pseen[case_] = 1; porder[++npc] = case_; pmetric[case_] = ms[1] }
    pv[case_, f["label"], ++pn[case_, f["label"]]] = f[ms[1]]
    for (k = 1; k <= nm; k++) {
        key = case_ SUBSEP ms[k]
        if (!(key in seen)) { seen[key] = 1; order[++nkeys] = key }
        v[key, f["label"]] = v[key, f["label"]] " " f[ms[k]]
    }
}
END {
    ns = split(servers, sv, ",")
    printf "%-34s %-17s", "case", "metric"
    for (s = 1; s <= ns; s++) printf " %14s", sv[s]
    for (s = 1; s <= ns; s++) if (sv[s] != "ours") printf " %9s", "/" substr(sv[s], 1, 8)
    printf "\n"
    for (k = 1; k <= nkeys; k++) {
        split(order[k], parts, SUBSEP)
        printf "%-34s %-17s", parts[1], parts[2]
        for (s = 1; s <= ns; s++) { med[s] = median(v[order[k], sv[s]]); printf " %14s", med[s] }
        ours = ""
        for (s = 1; s <= ns; s++) if (sv[s] == "ours") ours = med[s]
        for (s = 1; s <= ns; s++) if (sv[s] != "ours") {
            if (ours != "" && med[s] != "" && med[s] + 0 > 0) printf " %9.2f", ours / med[s]; else printf " %9s", "-"
        }
        printf "\n"
    }
    # Round r of a case ran every server one after the other, so the r-th runs of two servers
    # saw about the same machine: the median of their ratios is steadier than the ratio of
    # medians when the speed of the machine drifts between rounds.
    printf "\n== per-round ratios: the median over rounds of ours / peer in the same round (min-max)\n"
    printf "%-34s %-17s", "case", "metric"
    for (s = 1; s <= ns; s++) if (sv[s] != "ours") printf " %22s", "/" sv[s]
    printf "\n"
    for (k = 1; k <= npc; k++) {
        c = porder[k]
        printf "%-34s %-17s", c, pmetric[c]
        for (s = 1; s <= ns; s++) if (sv[s] != "ours") {
            list = ""; lo = ""; hi = ""
            for (r = 1; r <= pn[c, "ours"] && r <= pn[c, sv[s]]; r++) {
                if (pv[c, sv[s], r] + 0 <= 0) continue
                q = pv[c, "ours", r] / pv[c, sv[s], r]
                list = list " " q
                if (lo == "" || q < lo) lo = q
                if (hi == "" || q > hi) hi = q
            }
            if (list == "") printf " %22s", "-"
            else printf " %22s", sprintf("%.2f (%.2f-%.2f)", median(list), lo, hi)
        }
        printf "\n"
    }
}' "$OUT"
echo
echo "raw results: $OUT"
if [ "${#FAILURES[@]}" -gt 0 ]; then
    echo "== FAILED: ${#FAILURES[@]} run(s) went wrong:"
    printf '   %s\n' "${FAILURES[@]}"
    exit 1
fi
