# Shared by scripts/bench-servers.sh and scripts/bench-deflate.sh (sourced, not run): starting
# and stopping the server under test, and the median of the summary tables. The caller defines `server_cmd NAME` (prints the command
# line) and sets BENCH_LOG_DIR (where each server's stdout and stderr go).
#
# A server is ready once its stdout has a line `Listening on ws://HOST:PORT`; SERVER_URL is
# that URL with one trailing slash, SERVER_PID its process.

SERVER_PID=""
SERVER_URL=""
start_server() {
    local log="$BENCH_LOG_DIR/$1.out"
    # Emptied here, before the server starts: the background job's own redirection may run
    # after the loop below has read the previous run's "Listening on" line (a stale port,
    # then "Connection refused" for a whole run).
    : > "$log"
    : > "$log.err"
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

# The median of a space-separated list of numbers, for the scripts' summary tables (an awk
# function: prepend it to the awk program).
# shellcheck disable=SC2034
AWK_MEDIAN='
function median(list,    n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    if (n == 0) return ""
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
'
