"""Shared fixtures. Airflow runs with a throw-away AIRFLOW_HOME and the project's dags/ and plugins/; SMTP and
the chat webhook are real servers on loopback started by the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bhxh.devservers import free_port

ROOT = Path(__file__).resolve().parents[1]
_SESSION_HOME = Path(os.environ.get("BHXH_TEST_AIRFLOW_HOME") or ROOT / "out" / "test_airflow_home")

# Set before anything imports airflow: the DAG tests parse the project's dags with these settings.
os.environ["AIRFLOW_HOME"] = str(_SESSION_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DEFAULT_TIMEZONE"] = "Asia/Ho_Chi_Minh"
os.environ["BHXH_TEMPLATES_DIR"] = str(ROOT / "templates")
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
for _p in (ROOT / "dags", ROOT / "plugins"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))
_SESSION_HOME.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata DB (SQLite) in the session's AIRFLOW_HOME."""
    subprocess.run(["airflow", "db", "migrate"], check=True, stdout=subprocess.DEVNULL)
    return _SESSION_HOME


@pytest.fixture
def mail_sink(tmp_path):
    from bhxh.devservers import MailSink

    sink = MailSink(tmp_path / "mail", free_port())
    sink.port = sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def chat_sink(tmp_path):
    from bhxh.devservers import WebhookSink

    sink = WebhookSink(tmp_path / "chat", free_port())
    sink.port = sink.start()
    yield sink
    sink.stop()
