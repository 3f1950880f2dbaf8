#!/usr/bin/env bash
# The tests use PostgreSQL at $BHXH_PG_HOST:$BHXH_PG_PORT (default 127.0.0.1:5432). If nothing answers there,
# start the local cluster (Debian's postgresql, installed if missing) or stop with a message naming what is missing.
set -uo pipefail
HOST="${BHXH_PG_HOST:-127.0.0.1}"
PORT="${BHXH_PG_PORT:-5432}"
answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
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
