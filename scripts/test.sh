#!/usr/bin/env bash
# Install what the tests need and run the whole suite against real PostgreSQL, Redis, Celery and Chromium.
#   DCR_TEST_PG_PORT     loopback port for the test PostgreSQL (default 55432)
#   DCR_TEST_REDIS_PORT  loopback port for the test Redis (default 56379)
#   DCR_TEST_WORKERS     pytest-xdist processes (default 2)
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/records -x`.
source "$(dirname "$0")/_setup.sh"
dcr_setup dev

PY=.venv/bin/python
PG_PORT="${DCR_TEST_PG_PORT:-55432}"
REDIS_PORT="${DCR_TEST_REDIS_PORT:-56379}"

# A PostgreSQL cluster of the test run's own, on loopback, with the machine's binaries.
test_cluster() {
  DCR_PG_DATA_DIR="$ROOT/var/test-cluster" DCR_PG_PORT="$PG_PORT" DCR_PG_LISTEN=127.0.0.1 $PY -m dcr.embedded_pg "$@"
}
say "Starting PostgreSQL on 127.0.0.1:$PG_PORT"
test_cluster start >/dev/null
say "Starting Redis on 127.0.0.1:$REDIS_PORT"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --daemonize yes \
  --pidfile "$ROOT/var/test-redis.pid" --logfile "$ROOT/var/test-redis.log"
cleanup() {
  [ -f "$ROOT/var/test-redis.pid" ] && kill "$(cat "$ROOT/var/test-redis.pid")" 2>/dev/null || true
  test_cluster stop >/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done

export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/dcr"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"

say "Lint (ruff)"
.venv/bin/ruff check .
.venv/bin/ruff format --check . >/dev/null
say "Migrations are up to date"
$PY manage.py makemigrations --check --dry-run >/dev/null
say "Tests"
$PY -m pytest -n "${DCR_TEST_WORKERS:-2}" --dist loadfile "$@"
