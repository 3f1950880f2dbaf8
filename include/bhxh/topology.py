"""The production topology in one place: the settings every Airflow component shares (CeleryExecutor, Redis
broker, PostgreSQL metadata DB and result backend, the execution API and its JWT secret, the project's folders,
the `bhxh_store` and `bhxh_apprise` connections).

Two users read it and must never disagree:

* `docker-compose.yaml`: its `x-airflow-common` environment equals `airflow_env(compose_topology())`, with
  secrets left as `${VAR}` references that Docker Compose fills from `.env` (checked by tests/deploy/test_compose.py;
  `python -m bhxh.topology compose-env` prints the block to paste);
* the native topology test (tests/e2e/test_topology.py) runs the same components from the virtualenv on
  loopback with `airflow_env(Topology(...))`.

`python -m bhxh.topology init` is the store part of the compose file's `airflow-init` service: it creates the
store's role and database (idempotent) and upgrades its schema.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass, field

TIMEZONE = "Asia/Ho_Chi_Minh"
EXECUTOR = "CeleryExecutor"
AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
DAG_ID = "bao_cao_nq51_action_programme"

# Service name in docker-compose.yaml -> the `airflow` sub-command it runs (the native test runs the same ones).
AIRFLOW_SERVICES: dict[str, str] = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
OTHER_SERVICES = ("postgres", "redis", "airflow-init", "mailpit", "chat-catcher", "bhxh-portal")
PORTAL_SERVICE = "bhxh-portal"  # the unit portal (bhxh.portal): units reach it, never Airflow

# Imported once by each Celery worker before it forks (Celery's `imports` setting).
WORKER_PRELOAD = ("bhxh.steps.cycle",)

# Container paths of the mounted project folders (official image: AIRFLOW_HOME=/opt/airflow).
CONTAINER_HOME = "/opt/airflow"


@dataclass(frozen=True)
class Topology:
    """Hosts, ports, secrets and folders of one deployment. Any value may be a `${VAR}` compose reference."""

    airflow_home: str
    dags_folder: str
    plugins_folder: str
    templates_dir: str
    include_dir: str
    out_dir: str
    fernet_key: str
    jwt_secret: str
    # PostgreSQL: metadata DB (also the Celery result backend) and the submissions store
    pg_host: str = "postgres"
    pg_port: str = "5432"
    pg_user: str = "airflow"
    pg_password: str | None = None
    metadata_db: str = "airflow"
    store_user: str | None = None  # None: the store uses pg_user/pg_password
    store_password: str | None = None
    store_db: str = "bhxh_store"
    # Redis broker
    redis_host: str = "redis"
    redis_port: str = "6379"
    redis_db: str = "0"
    # api-server, as the other components reach it (execution API)
    api_host: str = "airflow-apiserver"
    api_port: str = "8080"
    # mail (apprise "email" channel) and chat webhook (apprise "chat" channel)
    smtp_host: str = "mailpit"
    smtp_port: str = "1025"
    smtp_user: str | None = None
    smtp_password: str | None = None
    mail_from: str = "baocao@vss.example"
    mail_name: str = "He thong bao cao BHXH"
    chat_url: str = "json://chat-catcher:8525/chat"
    admin_user: str = "admin"
    # the units' ways in (issue 17): the portal's public address and link secret, the trust roots of signed
    # documents, the department's mailbox (empty: none to pull)
    portal_url: str = "http://127.0.0.1:8090"
    portal_secret: str = ""
    trust_dir: str = ""
    imap_url: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def _userinfo(user: str | None, password: str | None) -> str:
    if not user:
        return ""
    return f"{user}:{password}@" if password else f"{user}@"


def metadata_db_url(t: Topology) -> str:
    return f"postgresql+psycopg2://{_userinfo(t.pg_user, t.pg_password)}{t.pg_host}:{t.pg_port}/{t.metadata_db}"


def result_backend_url(t: Topology) -> str:
    """Celery result backend: the metadata database through Celery's SQLAlchemy backend."""
    return f"db+postgresql://{_userinfo(t.pg_user, t.pg_password)}{t.pg_host}:{t.pg_port}/{t.metadata_db}"


def broker_url(t: Topology) -> str:
    return f"redis://{t.redis_host}:{t.redis_port}/{t.redis_db}"


def store_url(t: Topology) -> str:
    """SQLAlchemy URL of the submissions store (psycopg 3)."""
    user = t.store_user or t.pg_user
    password = t.store_password if t.store_user else t.pg_password
    return f"postgresql+psycopg://{_userinfo(user, password)}{t.pg_host}:{t.pg_port}/{t.store_db}"


def execution_api_url(t: Topology) -> str:
    return f"http://{t.api_host}:{t.api_port}/execution/"


def mail_url(t: Topology) -> str:
    auth = _userinfo(t.smtp_user, t.smtp_password)
    return f"mailto://{auth}{t.smtp_host}:{t.smtp_port}?from={t.mail_from}&name={t.mail_name}"


def store_connection(t: Topology) -> dict:
    return {"conn_type": "generic", "extra": {"url": store_url(t)}}


def apprise_connection(t: Topology) -> dict:
    return {
        "conn_type": "apprise",
        "extra": {"config": [{"path": mail_url(t), "tag": "email"}, {"path": t.chat_url, "tag": "chat"}]},
    }


def airflow_env(t: Topology) -> dict[str, str]:
    """The environment every Airflow component of the deployment gets (compose: `x-airflow-common`)."""
    env = {
        "AIRFLOW_HOME": t.airflow_home,
        "AIRFLOW__CORE__EXECUTOR": EXECUTOR,
        "AIRFLOW__CORE__AUTH_MANAGER": AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{t.admin_user}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": f"{t.airflow_home}/config/simple_auth_manager_passwords.json",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db_url(t),
        "AIRFLOW__CELERY__BROKER_URL": broker_url(t),
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend_url(t),
        # result_extended: the result backend records which Celery worker ran each task; imports: the worker
        # loads the domain package (pandas, pandera, SQLAlchemy models) once, and every task process forked
        # from it starts with them instead of importing them again (~83 small `validate` tasks per cycle)
        "AIRFLOW__CELERY__EXTRA_CELERY_CONFIG": json.dumps({"result_extended": True, "imports": list(WORKER_PRELOAD)}),
        "AIRFLOW__CORE__FERNET_KEY": t.fernet_key,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": execution_api_url(t),
        "AIRFLOW__API_AUTH__JWT_SECRET": t.jwt_secret,
        "AIRFLOW__CORE__DAGS_FOLDER": t.dags_folder,
        "AIRFLOW__CORE__PLUGINS_FOLDER": t.plugins_folder,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": TIMEZONE,
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW_CONN_BHXH_STORE": json.dumps(store_connection(t), ensure_ascii=False),
        "AIRFLOW_CONN_BHXH_APPRISE": json.dumps(apprise_connection(t), ensure_ascii=False),
        "BHXH_STORE_URL": store_url(t),
        "BHXH_TEMPLATES_DIR": t.templates_dir,
        "BHXH_OUT_DIR": t.out_dir,
        "BHXH_PORTAL_URL": t.portal_url,
        "BHXH_PORTAL_SECRET": t.portal_secret,
        "BHXH_TRUST_DIR": t.trust_dir,
        "BHXH_IMAP_URL": t.imap_url,
        "PYTHONPATH": t.include_dir,
    }
    env.update(t.extra)
    return env


def portal_env(t: Topology) -> dict[str, str]:
    """The unit portal's environment (compose: the `bhxh-portal` service): the store, the templates, the link
    secret and public address, the trust roots; nothing of Airflow."""
    return {
        "BHXH_STORE_URL": store_url(t),
        "BHXH_TEMPLATES_DIR": t.templates_dir,
        "BHXH_PORTAL_URL": t.portal_url,
        "BHXH_PORTAL_SECRET": t.portal_secret,
        "BHXH_TRUST_DIR": t.trust_dir,
        "PYTHONPATH": t.include_dir,
    }


def compose_topology() -> Topology:
    """The deployment of docker-compose.yaml: service names as hosts, secrets as `${VAR}` from `.env`."""
    home = CONTAINER_HOME
    # no secrets below: `${VAR}` references that Docker Compose fills from .env
    return Topology(
        airflow_home=home,
        dags_folder=f"{home}/dags",
        plugins_folder=f"{home}/plugins",
        templates_dir=f"{home}/templates",
        include_dir=f"{home}/include",
        out_dir=f"{home}/out/reports",
        fernet_key="${AIRFLOW_FERNET_KEY:?set AIRFLOW_FERNET_KEY in .env}",
        jwt_secret="${AIRFLOW_JWT_SECRET:?set AIRFLOW_JWT_SECRET in .env}",  # noqa: S106
        pg_password="${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}",  # noqa: S106
        store_user="bhxh",
        store_password="${BHXH_STORE_PASSWORD:?set BHXH_STORE_PASSWORD in .env}",  # noqa: S106
        smtp_host="${SMTP_HOST:-mailpit}",
        smtp_port="${SMTP_PORT:-1025}",
        smtp_user="${SMTP_USER:?set SMTP_USER in .env}",
        smtp_password="${SMTP_PASSWORD:?set SMTP_PASSWORD in .env}",  # noqa: S106
        mail_from="${SMTP_FROM:-baocao@vss.example}",
        chat_url="${BHXH_CHAT_URL:-json://chat-catcher:8525/chat}",
        admin_user="${AIRFLOW_ADMIN_USER:-admin}",
        portal_url="${BHXH_PORTAL_URL:-http://localhost:8090}",
        portal_secret="${BHXH_PORTAL_SECRET:?set BHXH_PORTAL_SECRET in .env}",  # noqa: S106
        trust_dir=f"{home}/trust",
        imap_url="${BHXH_IMAP_URL:-}",
    )


def native_topology(root: str, home: str, **values) -> Topology:
    """The same deployment on loopback from the virtualenv (project folders under `root`)."""
    base = {
        "airflow_home": home,
        "dags_folder": f"{root}/dags",
        "plugins_folder": f"{root}/plugins",
        "templates_dir": f"{root}/templates",
        "include_dir": f"{root}/include",
        "out_dir": f"{home}/out/reports",
        "pg_host": "127.0.0.1",
        "redis_host": "127.0.0.1",
        "api_host": "127.0.0.1",
        "smtp_host": "127.0.0.1",
        "trust_dir": f"{root}/trust",
    }
    return Topology(**(base | values))


# -- set-up (airflow-init in compose; the native test calls the same functions) ----------------------------
def ensure_database(admin_dsn: str, dbname: str, owner: str | None = None, password: str | None = None) -> bool:
    """Create `dbname` (and role `owner` with `password`) when missing; returns True when it was created."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        if owner and conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(owner), sql.Literal(password)))
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone() is not None:
            return False
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname))
        if owner:
            query = sql.SQL("{} OWNER {}").format(query, sql.Identifier(owner))
        conn.execute(query)
        return True


def drop_database(admin_dsn: str, dbname: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


def admin_dsn(t: Topology, dbname: str = "postgres") -> str:
    """libpq DSN of the PostgreSQL superuser (the metadata DB's user), to create databases."""
    password = f" password={t.pg_password}" if t.pg_password else ""
    return f"host={t.pg_host} port={t.pg_port} user={t.pg_user}{password} dbname={dbname}"


def write_admin_password(t: Topology, password: str) -> str:
    """The SimpleAuthManager password file read by the api-server; returns its path."""
    path = f"{t.airflow_home}/config/simple_auth_manager_passwords.json"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({t.admin_user: password}, fh)
    return path


def init_store(t: Topology) -> str:
    """Create the store's role and database if missing and upgrade its schema; returns the store URL."""
    from bhxh.store.engine import init_store as upgrade

    ensure_database(admin_dsn(t, t.metadata_db), t.store_db, t.store_user, t.store_password)
    return upgrade(store_url(t))


def _from_environment() -> Topology:
    """Inside a container: the compose topology with the `${VAR}` references resolved from the environment."""
    resolved = {}
    for f in dataclasses.fields(Topology):
        value = getattr(compose_topology(), f.name)
        if isinstance(value, str) and value.startswith("${"):
            name, _, default = value[2:-1].partition(":")
            value = os.environ.get(name) or (default[1:] if default.startswith("-") else None)
        resolved[f.name] = value
    return Topology(**resolved)


def _compose_env_yaml(env: dict[str, str] | None = None, anchor: str | None = "airflow-common-env") -> str:
    lines = ["  environment:"] + ([f"    &{anchor}"] if anchor else [])
    for key, value in (env if env is not None else airflow_env(compose_topology())).items():
        lines.append(f"    {key}: {quote_yaml(value)}")
    return "\n".join(lines)


def quote_yaml(value: str) -> str:
    """Single-quoted YAML scalar (keeps JSON's double quotes readable)."""
    return "'" + value.replace("'", "''") + "'"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["compose-env"]:
        print(_compose_env_yaml())
        return 0
    if args[:1] == ["portal-env"]:
        print(_compose_env_yaml(portal_env(compose_topology()), anchor=None))
        return 0
    if args[:1] == ["init"]:
        t = _from_environment()
        url = init_store(t)
        password = os.environ.get("AIRFLOW_ADMIN_PASSWORD")
        if password:
            write_admin_password(t, password)
        print(f"Kho báo cáo sẵn sàng / store ready: {url.replace(t.store_password or '', '***') if t.store_password else url}")
        return 0
    print("usage: python -m bhxh.topology {compose-env|portal-env|init}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
