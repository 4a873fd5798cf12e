#!/usr/bin/env bash
# Server-level permessage-deflate benchmark: ws6455's `ws-server --app echo` against Node `ws`
# (perMessageDeflate on, threshold 0) echoing small JSON text messages (100 B-2 KiB) with
# compression negotiated, driven by examples/loadgen_deflate (which compresses and inflates
# with ws6455's codec and checks every echo).
#
#   scripts/bench-deflate.sh            # full run (about 2 minutes once built)
#   scripts/bench-deflate.sh --quick    # short variant (about 20 s once built)
#
# Options: --quick, --rounds N, --secs S, --only LIST (ours,node), --no-build.
# Environment: CARGO_TARGET_DIR is honoured; RESULT lines also go to $OUT (default
# target/bench-deflate/results.txt).
#
# Node `ws` is installed with `npm ci` from benches/peers/node/package-lock.json into
# target/bench-deflate/node (nothing global). Servers run one at a time, alternating
# ours node ours node ..., and the table shows per-case medians and the ours / node ratio from
# the same run. A server that does not accept permessage-deflate is reported as such (its runs
# are skipped), so the script is usable before the protocol wiring is merged.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
QUICK=0
ROUNDS=""
SECS=""
ONLY="ours,node"
NO_BUILD=0
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --rounds) ROUNDS="$2"; shift ;;
        --secs) SECS="$2"; shift ;;
        --only) ONLY="$2"; shift ;;
        --no-build) NO_BUILD=1 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
if [ "$QUICK" = 1 ]; then
    ROUNDS="${ROUNDS:-2}"; SECS="${SECS:-1}"
    CASES=("--conns 16 --window 1" "--conns 4 --window 16")
else
    ROUNDS="${ROUNDS:-3}"; SECS="${SECS:-3}"
    CASES=("--conns 1 --window 1" "--conns 16 --window 1" "--conns 64 --window 1" "--conns 4 --window 16")
fi

TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$TARGET/bench-deflate"
OUT="${OUT:-$WORK/results.txt}"
mkdir -p "$WORK"
: > "$OUT"

if [ "$NO_BUILD" = 0 ]; then
    echo "== building (release)"
    cargo build --release --quiet --bin ws-server --example loadgen_deflate
fi
LOADGEN="$TARGET/release/examples/loadgen_deflate"
OURS_BIN="$TARGET/release/ws-server"

# Node `ws`, pinned by benches/peers/node/package-lock.json, installed under target/.
NODE_DIR="$WORK/node"
install_node() {
    mkdir -p "$NODE_DIR"
    if [ -d "$NODE_DIR/node_modules/ws" ] &&
        cmp -s benches/peers/node/package-lock.json "$NODE_DIR/node_modules/.installed-lock"; then
        return 0
    fi
    cp benches/peers/node/package.json benches/peers/node/package-lock.json "$NODE_DIR/"
    (cd "$NODE_DIR" && timeout 300 npm ci --no-audit --no-fund --loglevel=error) > "$WORK/npm.log" 2>&1 &&
        cp benches/peers/node/package-lock.json "$NODE_DIR/node_modules/.installed-lock"
}
case ",$ONLY," in
    *,node,*)
        command -v node > /dev/null || { echo "node is not installed" >&2; exit 1; }
        install_node || { echo "npm ci failed: $(tail -c 600 "$WORK/npm.log")" >&2; exit 1; }
        cp benches/peers/node/ws_deflate_echo.mjs "$NODE_DIR/" ;;
esac

server_cmd() {
    case "$1" in
        ours) echo "$OURS_BIN --app echo --listen 127.0.0.1:0 --quiet --max-connections 20000" ;;
        node) echo "node $NODE_DIR/ws_deflate_echo.mjs 0" ;;
    esac
}

BENCH_LOG_DIR="$WORK"
# shellcheck source=scripts/bench-lib.sh
source "$ROOT/scripts/bench-lib.sh"

declare -A SKIP=()
measure() {
    local name="$1"; shift
    [ -n "${SKIP[$name]:-}" ] && return 0
    start_server "$name" || return 0
    local line
    if line="$("$LOADGEN" --url "$SERVER_URL" --label "$name" --server-pid "$SERVER_PID" "$@" 2> "$WORK/$name.loadgen.err")"; then
        echo "$line" | tee -a "$OUT" | sed 's/^/   /'
    else
        echo "   $name: $(tail -n 1 "$WORK/$name.loadgen.err")"
        if grep -q "negotiated=no" <<< "$line"; then
            echo "   $name: permessage-deflate not negotiated; skipping its remaining runs"
            SKIP[$name]=1
        fi
    fi
    stop_server
}

IFS=, read -r -a SERVERS <<< "$ONLY"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg) (loadgen and servers share the machine: read the same-run ratios)"
[ -x "$(command -v node)" ] && echo "== node $(node --version), ws $(node -p "require('$NODE_DIR/node_modules/ws/package.json').version" 2>/dev/null || echo '?')"
echo "== rounds: $ROUNDS; seconds per run: $SECS; client compression level 1"
for c in "${CASES[@]}"; do
    echo "== $c"
    for _ in $(seq 1 "$ROUNDS"); do
        for s in "${SERVERS[@]}"; do
            # shellcheck disable=SC2086
            measure "$s" $c --secs "$SECS"
        done
    done
done
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "== medians over $ROUNDS rounds (ratio = ours / node; msgs/s higher is better; server_cpu is cores used, and cpu_us_per_msg = server CPU microseconds per echoed message, lower is better)"
awk -v servers="$ONLY" "$AWK_MEDIAN"'
/^RESULT / {
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    case_ = "c=" f["conns"] " w=" f["window"]
    if (f["msgs_per_s"] + 0 > 0 && f["server_cpu"] != "") f["cpu_us_per_msg"] = sprintf("%.2f", f["server_cpu"] * 1e6 / f["msgs_per_s"])
    nm = split("msgs_per_s server_cpu cpu_us_per_msg wire_ratio compressed_echoes", ms, " ")
    for (k = 1; k <= nm; k++) {
        if (!(ms[k] in f)) continue
        key = case_ SUBSEP ms[k]
        if (!(key in seen)) { seen[key] = 1; order[++nkeys] = key }
        v[key, f["label"]] = v[key, f["label"]] " " f[ms[k]]
    }
}
END {
    ns = split(servers, sv, ",")
    printf "%-12s %-18s", "case", "metric"
    for (s = 1; s <= ns; s++) printf " %12s", sv[s]
    printf " %9s\n", "ours/node"
    for (k = 1; k <= nkeys; k++) {
        split(order[k], parts, SUBSEP)
        printf "%-12s %-18s", parts[1], parts[2]
        ours = ""; node = ""
        for (s = 1; s <= ns; s++) {
            m = median(v[order[k], sv[s]]); printf " %12s", m
            if (sv[s] == "ours") ours = m; if (sv[s] == "node") node = m
        }
        if (ours != "" && node != "" && node + 0 > 0) printf " %9.2f\n", ours / node; else printf " %9s\n", "-"
    }
}' "$OUT"
echo
echo "raw results: $OUT"
