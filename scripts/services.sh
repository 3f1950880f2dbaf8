#!/usr/bin/env bash
# The tests use PostgreSQL and Redis at $BHXH_PG_HOST:$BHXH_PG_PORT and $BHXH_REDIS_HOST:$BHXH_REDIS_PORT
# If nothing answers there, start them (Debian packages, installed if missing) or stop with a message naming what is missing.
set -uo pipefail
HOST="${BHXH_PG_HOST:-127.0.0.1}"
PORT="${BHXH_PG_PORT:-5432}"
answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
RHOST="${BHXH_REDIS_HOST:-127.0.0.1}"; RPORT="${BHXH_REDIS_PORT:-6379}"
if ! answers "$RHOST" "$RPORT"; then
  echo "Redis không trả lời tại $RHOST:$RPORT; thử khởi động / Redis is not answering; starting it"
  if ! command -v redis-server >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  command -v redis-server >/dev/null && redis-server --bind 127.0.0.1 --port "$RPORT" --save "" --appendonly no --daemonize yes >/dev/null
  for _ in $(seq 1 10); do answers "$RHOST" "$RPORT" && break; sleep 1; done
  answers "$RHOST" "$RPORT" || { echo "THIẾU / MISSING: Redis at $RHOST:$RPORT (apt-get install redis-server)" >&2; exit 1; }
fi
if answers "$HOST" "$PORT"; then
  exit 0
fi
echo "PostgreSQL không trả lời tại $HOST:$PORT; thử khởi động / PostgreSQL is not answering at $HOST:$PORT; starting it"
if ! ls /etc/postgresql >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
fi
if ls /etc/postgresql >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start 2>/dev/null || true
  for _ in $(seq 1 20); do answers "$HOST" "$PORT" && exit 0; sleep 1; done
fi
echo "THIẾU / MISSING: PostgreSQL server at $HOST:$PORT (apt-get install postgresql, or set BHXH_PG_HOST/BHXH_PG_PORT)" >&2
exit 1
