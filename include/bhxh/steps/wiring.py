"""What dags/common/wiring.py takes from the domain when it reads Airflow's connections: the store's default URL
and the channel URLs of an apprise config."""

from __future__ import annotations

from bhxh.notify.channels import channel_urls_from_config
from bhxh.store.engine import default_url

__all__ = ["channel_urls_from_config", "default_url"]
