#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each, one after the other, and prints the
# executions, coverage and corpus size reached per target.
#
#   scripts/fuzz.sh SECONDS [TARGET...]        (default: every target in fuzz/Cargo.toml)
#
# Needs cargo-fuzz (installed if missing) and a nightly compiler, or a stable one with
# RUSTC_BOOTSTRAP=1 (set here). Falls back to `-s none` if the AddressSanitizer build fails.
# The checked-in seeds in fuzz/corpus/<target>/ are read but never written: new inputs go to a
# scratch corpus under $FUZZ_WORK (default fuzz/target/work), which persists across runs.
# Crashes land in fuzz/artifacts/<target>/; turn each into a corpus file + a regression test.
# Environment: FUZZ_TARGET_DIR (cargo target dir, default fuzz/target).
set -uo pipefail
cd "$(dirname "$0")/.."

secs=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
export RUSTC_BOOTSTRAP=1
work=${FUZZ_WORK:-fuzz/target/work}
tdir=${FUZZ_TARGET_DIR:-fuzz/target}
# Absolute, because cargo fuzz runs cargo from fuzz/.
case $tdir in /*) ;; *) tdir="$PWD/$tdir" ;; esac
case $work in /*) ;; *) work="$PWD/$work" ;; esac

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked || { echo "cannot install cargo-fuzz" >&2; exit 2; }
fi

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz 2>/dev/null)
fi
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets found" >&2; exit 2; }

summary=()
status=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "fuzz/corpus/$t"
  log="$work/$t.log"
  san=()
  if ! cargo fuzz build --fuzz-dir fuzz --target-dir "$tdir" "$t" >"$log.build" 2>&1; then
    echo "== $t: sanitizer build failed, retrying with -s none (see $log.build)"
    san=(-s none)
    if ! cargo fuzz build --fuzz-dir fuzz --target-dir "$tdir" "${san[@]}" "$t" >>"$log.build" 2>&1; then
      echo "== $t: build failed" >&2
      tail -20 "$log.build" >&2
      summary+=("$t: BUILD FAILED")
      status=1
      continue
    fi
  fi
  echo "== $t: fuzzing for ${secs}s"
  before=$(ls "fuzz/artifacts/$t" 2>/dev/null | wc -l)
  cargo fuzz run --fuzz-dir fuzz --target-dir "$tdir" "${san[@]}" "$t" "$work/$t" "fuzz/corpus/$t" -- \
    -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  after=$(ls "fuzz/artifacts/$t" 2>/dev/null | wc -l)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  corp=$(grep -o 'corp: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  rate=$(grep -o 'exec/s: [0-9]*' <<<"$last" | grep -o '[0-9]*')
  line="$t: ${execs:-?} execs in ${secs}s (${rate:-?}/s), cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}"
  if [ $rc -ne 0 ] || [ "$after" -gt "$before" ]; then
    line="$line, CRASH (exit $rc): see $log and fuzz/artifacts/$t/"
    status=1
  fi
  echo "$line"
  summary+=("$line")
done
echo
echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
