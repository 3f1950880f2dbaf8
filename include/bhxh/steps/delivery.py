"""Delivering the outbox ("gửi thư"): what the intake, reminder and cycle DAGs call to send pending messages."""

from __future__ import annotations

from bhxh.notify.channels import apprise_sender
from bhxh.notify.outbox import deliver_pending
from bhxh.store.engine import session_factory


def deliver(store_url: str, channel_urls: dict[str, list[str]], **scope: str) -> dict[str, int]:
    """Send the pending messages (of one `channel`, or one `obligation_id` and `cycle_key`) through the channels."""
    return deliver_pending(session_factory(store_url), apprise_sender(channel_urls), **scope)
