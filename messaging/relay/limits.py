"""Every limit the relay enforces, named once (STYLE.md: libsignal's ``limits.rs``).

A request that exceeds a limit is refused with a clear HTTP error (413, 429 or
507) before anything is written, so it changes no state.
"""

from __future__ import annotations

from dataclasses import dataclass

# Group commit of the relay's SQLite writer (messaging/relay/group_commit.py): the most
# requests one transaction carries, and how long (seconds) it stays open for requests
# still arriving.
MAX_GROUP_COMMIT_REQUESTS = 64
MAX_GROUP_COMMIT_DELAY = 0.002


@dataclass(frozen=True)
class RelayLimits:
    """The relay's limits. The defaults suit a laboratory relay; tests shrink them."""

    max_request_bytes: int = 1024 * 1024
    """Largest accepted request body (HTTP 413 beyond)."""
    max_envelopes_per_request: int = 256
    """Envelopes one ``POST /v1/messages`` may carry."""
    max_queue_per_device: int = 10_000
    """Undelivered envelopes kept for one device (HTTP 507 beyond)."""
    max_fetch_batch: int = 500
    """Envelopes returned by one queue fetch."""
    max_fetch_bytes: int = 4 * 1024 * 1024
    """Envelope bytes returned by one queue fetch (at least one envelope is always returned)."""
    bundle_fetches_per_window: int = 120
    """Prekey bundles one device may fetch per window (HTTP 429 beyond)."""
    bundle_fetch_window: float = 60.0
    """Length of the bundle-fetch rate window, in seconds."""
    max_one_time_prekeys: int = 500
    """One-time prekeys (X25519 and KEM, each) a device may keep on the relay."""
    max_devices_per_user: int = 16
    """Devices one user may register."""
    max_poll_wait: float = 25.0
    """Longest a queue fetch may wait for an envelope (long polling), in seconds."""
    clock_skew: float = 300.0
    """A signed request's timestamp may differ from the relay's clock by this much."""
