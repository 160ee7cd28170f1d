#!/bin/sh
# Seed the list benchmark's database if needed (a no-op once it is), then run the benchmark.
# Usage: bench/run.sh [list_bench options]; BENCH_DATABASE_URL overrides the database.
set -eu
cd "$(dirname "$0")/.."
url="${BENCH_DATABASE_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/billing_bench}"
.venv/bin/python -m bench.seed --database-url "$url"
exec .venv/bin/python -m bench.list_bench --database-url "$url" "$@"
