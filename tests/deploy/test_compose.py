"""docker-compose.yaml against include/bhxh/topology.py: the compose file and the native topology test
(tests/e2e/test_topology.py) take their settings from the same place and cannot drift apart."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from bhxh import topology

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def common_env(compose) -> dict[str, str]:
    return compose["x-airflow-common"]["environment"]


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def test_services_exist(compose):
    services = compose["services"]
    for name in (*topology.AIRFLOW_SERVICES, *topology.OTHER_SERVICES):
        assert name in services, name
    for name, command in topology.AIRFLOW_SERVICES.items():
        assert str(services[name]["command"]).startswith(command), (name, services[name]["command"])


def test_every_airflow_service_uses_the_common_block(compose, common_env):
    """The anchor is merged: each Airflow service has the project image, the mounts and the whole environment."""
    common = compose["x-airflow-common"]
    for name in (*topology.AIRFLOW_SERVICES, "airflow-init"):
        svc = compose["services"][name]
        assert svc["image"] == common["image"], name
        assert svc["volumes"] == common["volumes"], name
        env = _env(svc)
        assert {k: env[k] for k in common_env} == {k: str(v) for k, v in common_env.items()}, name


def test_environment_is_what_topology_produces(common_env):
    expected = topology.airflow_env(topology.compose_topology())
    assert {k: str(v) for k, v in common_env.items()} == expected


def test_shared_settings(common_env):
    env = common_env
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"].startswith("${AIRFLOW_JWT_SECRET")
    assert env["AIRFLOW__CORE__FERNET_KEY"].startswith("${AIRFLOW_FERNET_KEY")
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == "Asia/Ho_Chi_Minh"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/airflow/dags"
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == "/opt/airflow/plugins"
    assert env["BHXH_TEMPLATES_DIR"] == "/opt/airflow/templates"
    assert env["PYTHONPATH"] == "/opt/airflow/include"


def test_broker_and_backend_urls(common_env):
    broker = urlsplit(common_env["AIRFLOW__CELERY__BROKER_URL"])
    assert (broker.scheme, broker.hostname, broker.port, broker.path) == ("redis", "redis", 6379, "/0")
    backend = common_env["AIRFLOW__CELERY__RESULT_BACKEND"]
    assert re.fullmatch(r"db\+postgresql://airflow:\$\{POSTGRES_PASSWORD[^}]*\}@postgres:5432/airflow", backend), backend
    meta = common_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert re.fullmatch(r"postgresql\+psycopg2://airflow:\$\{POSTGRES_PASSWORD[^}]*\}@postgres:5432/airflow", meta), meta


def test_connections_are_json(common_env):
    store = json.loads(common_env["AIRFLOW_CONN_BHXH_STORE"])
    assert store["extra"]["url"].startswith("postgresql+psycopg://bhxh:${BHXH_STORE_PASSWORD")
    assert store["extra"]["url"].endswith("@postgres:5432/bhxh_store")
    apprise = json.loads(common_env["AIRFLOW_CONN_BHXH_APPRISE"])
    assert apprise["conn_type"] == "apprise"
    by_tag = {c["tag"]: c["path"] for c in apprise["extra"]["config"]}
    assert by_tag["email"].startswith("mailto://") and "${SMTP_HOST:-mailpit}:${SMTP_PORT:-1025}" in by_tag["email"]
    assert "chat" in by_tag


def test_project_folders_mounted(compose):
    volumes = compose["x-airflow-common"]["volumes"]
    targets = {}
    for volume in volumes:  # "source:target[:mode]"; the source may hold "${AIRFLOW_PROJ_DIR:-.}"
        source, target = re.fullmatch(r"(.+):(/[^:]+)(?::ro|:rw)?", volume).groups()
        targets[target] = source
    for folder in ("dags", "plugins", "templates", "include"):
        assert targets[f"/opt/airflow/{folder}"].endswith(f"/{folder}"), folder
        assert (ROOT / folder).is_dir()


def test_secrets_come_from_env_file(compose):
    """Every ${VAR} the compose file uses is documented in .env.example; no secret is written in the file."""
    text = "\n".join(
        line for line in (ROOT / "docker-compose.yaml").read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("#")
    )
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, flags=re.M))
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))
    assert used - documented - {"AIRFLOW_PROJ_DIR"} == set()
    for secret in ("AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "POSTGRES_PASSWORD", "BHXH_STORE_PASSWORD",
                   "SMTP_PASSWORD", "AIRFLOW_ADMIN_PASSWORD", "BHXH_PORTAL_SECRET"):
        assert f"${{{secret}:?" in text, secret
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    assert compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD")


def test_worker_and_init(compose):
    services = compose["services"]
    assert services["airflow-worker"]["command"].startswith("celery worker")
    init = services["airflow-init"]
    assert init["command"] == ["/opt/bhxh/docker/init.sh"]
    script = (ROOT / "docker" / "init.sh").read_text(encoding="utf-8")
    assert "airflow db migrate" in script and "bhxh.topology init" in script
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", "airflow-worker"):
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert services["mailpit"]["image"].startswith("axllent/mailpit")


def test_image_pins(compose):
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    assert "FROM apache/airflow:3.3.2-python3.11" in dockerfile
    reqs = (ROOT / "requirements.txt").read_text(encoding="utf-8").split()
    assert "celery==5.6.3" in reqs  # 5.7.0 breaks the CeleryExecutor (see AIRFLOW_NOTES)
    assert "apache-airflow==3.3.2" in reqs
    assert compose["x-airflow-common"]["build"]["dockerfile"] == "docker/Dockerfile"


def test_native_topology_uses_the_same_function(tmp_path):
    """The native side: same keys, loopback hosts, the project's own folders."""
    t = topology.native_topology(str(ROOT), str(tmp_path), fernet_key="k", jwt_secret="s", api_port="9999")  # noqa: S106
    env = topology.airflow_env(t)
    assert env.keys() == topology.airflow_env(topology.compose_topology()).keys()
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:9999/execution/"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == f"{ROOT}/dags"
    assert env["BHXH_TEMPLATES_DIR"] == f"{ROOT}/templates"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")


def test_the_unit_portal_is_a_service_apart_from_airflow(compose):
    """Units reach the portal, never Airflow: its own service, the environment topology.portal_env gives it (the
    store, the templates, the link secret and address, the trust roots) and nothing of Airflow's."""
    portal = compose["services"][topology.PORTAL_SERVICE]
    assert _env(portal) == topology.portal_env(topology.compose_topology())
    assert not [k for k in _env(portal) if k.startswith("AIRFLOW")]
    assert portal["entrypoint"][:4] == ["python", "-m", "bhxh.portal", "serve"] and "0.0.0.0" in portal["entrypoint"]  # noqa: S104 (inside its container)
    assert portal["ports"] == ["${BHXH_PORTAL_PORT:-8090}:8090"]
    assert "/suc-khoe" in " ".join(portal["healthcheck"]["test"])
    assert portal["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    for volume in portal["volumes"] + compose["x-airflow-common"]["volumes"][:5]:
        assert volume.endswith(":ro"), volume  # code, templates and trust roots are read-only
    assert "${AIRFLOW_PROJ_DIR:-.}/trust:/opt/airflow/trust:ro" in portal["volumes"]
    assert "${AIRFLOW_PROJ_DIR:-.}/trust:/opt/airflow/trust:ro" in compose["x-airflow-common"]["volumes"]
    assert (ROOT / "trust" / "README.md").is_file()
    # the Airflow side mints the same links (reminders) and reads the same trust roots and mailbox
    common = topology.airflow_env(topology.compose_topology())
    for key in ("BHXH_PORTAL_URL", "BHXH_PORTAL_SECRET", "BHXH_TRUST_DIR"):
        assert common[key] == _env(portal)[key]
    assert common["BHXH_IMAP_URL"] == "${BHXH_IMAP_URL:-}"
