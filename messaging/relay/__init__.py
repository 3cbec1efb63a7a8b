"""The relay: the untrusted provider that stores and forwards envelopes (docs/architecture.md,
"Data flow").

- :mod:`messaging.relay.service`: ``RelayService``, the facade over the storage (SQLAlchemy 2,
  SQLite by default) and the operations of each route group: :mod:`~messaging.relay.devices`,
  :mod:`~messaging.relay.prekeys`, :mod:`~messaging.relay.queue` (send, fetch, acknowledge,
  archive) and :mod:`~messaging.relay.polling` (long polling)
- :mod:`messaging.relay.api`: the signed request protocol, independent of HTTP
- :mod:`messaging.relay.app`: the Flask blueprint and ``create_relay_app``
- :mod:`messaging.relay.archive`: the archive read API (``RelayArchive``, ``ArchiveEntry``)
- :mod:`messaging.relay.inprocess`: ``InProcessTransport``, a device's transport to a relay
  in the same process
- :mod:`messaging.relay.auth`, :mod:`~messaging.relay.limits`, :mod:`~messaging.relay.errors`

What devices and the relay share (requests, answers, refusals, addresses) is below this
package, in :mod:`messaging.relay_protocol` and :mod:`messaging.addresses`, so that a
device never imports it.
"""

from messaging.relay.archive import ArchiveEntry, RelayArchive
from messaging.relay.errors import RelayDatabaseError
from messaging.relay.limits import RelayLimits
from messaging.relay.service import RelayService
from messaging.relay_protocol import RelayError

__all__ = ["ArchiveEntry", "RelayArchive", "RelayDatabaseError", "RelayError", "RelayLimits",
           "RelayService", "create_relay_app"]


def create_relay_app(service: RelayService | None = None):
    """See :func:`messaging.relay.app.create_relay_app` (imported lazily: it needs Flask)."""
    from messaging.relay.app import create_relay_app as create

    return create(service)
