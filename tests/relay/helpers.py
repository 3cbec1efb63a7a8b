"""Envelope builders for relay tests: real sessions, real envelopes."""

from __future__ import annotations

from messaging.clock import ManualClock
from messaging.hooks import NoEscrow
from messaging.session import Session


def session_to(sender, recipient, conversation_id: str = "dm:alice:bob",
               clock: ManualClock | None = None) -> Session:
    """A session from ``sender`` to ``recipient`` (parties of the conftest ``register``)."""
    bundle = sender.client.fetch_bundle(recipient.address)
    return Session.initiate(sender.identity, sender.address, bundle, recipient.address,
                            conversation_id, NoEscrow(), clock or ManualClock())
