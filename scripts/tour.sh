#!/usr/bin/env bash
# Runs the tour (examples/tour.rs) against a throwaway redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-redis.sh
export PATH="$PATH:/usr/bin:/usr/sbin"
cargo run --example tour "$@"
