# Shared by scripts/bench-servers.sh and scripts/bench-deflate.sh (sourced, not run): starting
# and stopping the server under test. The caller defines `server_cmd NAME` (prints the command
# line) and sets BENCH_LOG_DIR (where each server's stdout and stderr go).
#
# A server is ready once its stdout has a line `Listening on ws://HOST:PORT`; SERVER_URL is
# that URL with one trailing slash, SERVER_PID its process.

SERVER_PID=""
SERVER_URL=""
start_server() {
    local log="$BENCH_LOG_DIR/$1.out"
    # shellcheck disable=SC2046
    $(server_cmd "$1") > "$log" 2> "$log.err" &
    SERVER_PID=$!
    for _ in $(seq 1 1200); do
        if grep -q "^Listening on ws://.*:[0-9]" "$log" 2>/dev/null; then break; fi
        sleep 0.05
    done
    if ! grep -q "^Listening on ws://.*:[0-9]" "$log"; then
        echo "   SKIP: server $1 did not start within 60 s" >&2
        cat "$log" "$log.err" >&2
        stop_server
        return 1
    fi
    SERVER_URL="$(grep -m1 "^Listening on " "$log" | sed 's/^Listening on //' | sed 's#/*$#/#')"
}
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
trap stop_server EXIT
