#!/usr/bin/env bash
# Runs every test: formatting and lint checks, cargo test (unit, integration, doc tests,
# conformance, hostile clients), the interop suite against real peers (which installs them:
# Chromium, Deno, Node `ws`, Python `websockets`), the short soak, and the benchmark script's
# quick variant with every server it knows (it fails if a run goes wrong; its figures are
# not checked: speed goals live in benchmarks, never in tests).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test --release
cargo test --lib --test 'protocol_*' # debug build: overflow checks on for the sans-IO core
scripts/interop.sh
scripts/soak.sh --ci
scripts/bench-servers.sh --quick --only ours,tungstenite,fastwebsockets,raw,raw-ws
