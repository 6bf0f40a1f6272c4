#!/usr/bin/env bash
# Runs the whole test suite (unit, integration in both modes, UI, doc tests). Each test
# binary starts its own throwaway redis-server on a free port (or uses REDIS_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-redis.sh
export PATH="$PATH:/usr/bin:/usr/sbin"
cargo test --all-features "$@"
