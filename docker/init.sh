#!/usr/bin/env bash
# airflow-init (docker-compose.yaml): migrate the metadata DB, create and upgrade the submissions store, write the
# admin password, and check that the connections Airflow reads from the environment resolve.
set -euo pipefail
# through the image's entrypoint (waits for the database, sets up an arbitrary UID) when there is one
run() { if [ -x /entrypoint ]; then /entrypoint "$@"; else "$@"; fi; }
: "${AIRFLOW_ADMIN_PASSWORD:?set AIRFLOW_ADMIN_PASSWORD in .env}"
mkdir -p /opt/airflow/logs /opt/airflow/config /opt/airflow/out/reports /opt/airflow/out/chat
echo "== airflow db migrate"
run airflow db migrate
echo "== submissions store (role, database, schema)"
run python -m bhxh.topology init
echo "== connections (from AIRFLOW_CONN_* environment variables)"
for conn in bhxh_store bhxh_apprise; do
  run airflow connections get "$conn" -o json >/dev/null && echo "   $conn: ok"
done
echo "== DAGs"
run airflow dags list-import-errors || true
echo "airflow-init done: UI http://localhost:${AIRFLOW_API_PORT:-8080} (user ${AIRFLOW_ADMIN_USER:-admin}), mail http://localhost:${MAILPIT_UI_PORT:-8025}"
if [ "$(id -u)" = 0 ]; then
  chown -R "${AIRFLOW_UID:-50000}:0" /opt/airflow/logs /opt/airflow/config /opt/airflow/out
fi
