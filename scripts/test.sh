#!/usr/bin/env bash
# Runs every test: formatting and lint checks, cargo test (unit, integration, doc tests,
# conformance), then the interop suite against real peers (installed by scripts/interop.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test --release
if [ -x scripts/interop.sh ]; then
  scripts/interop.sh
fi
