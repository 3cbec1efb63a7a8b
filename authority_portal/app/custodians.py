"""The custodians as the portal sees them (docs/portal.md, "Custodians").

The portal coordinates; it never holds a custodian's key, nor an operator's. :class:`Custodians`
is what it needs: the nodes' names and threshold, the scope of a window, the workflow attempt
that collects releases (:class:`escrow.workflow.Attempt`), the exact request body an
operator signs for their node, and that node's release for the signed request. Each node
(:class:`authority_portal.custodian_node.node.CustodianNode`, in process or over HTTP)
checks the request itself before it releases: the operator's signature, the judges'
signatures against its own registry, expiry by its own clock, particularity, the records
against the archive, the approval's inclusion in the witnessed log, a fresh nonce; it logs
its decision first.

The operator signs the body outside the portal (in their browser with WebCrypto, or with
``escrowlab custodian sign-request``); :class:`NodeCustodians` only attaches the signature
it is given (:func:`authority_portal.custodian_node.request.attach_signature`) and forwards
the request. Whoever controls the portal can build bodies, but not sign them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from audit.receipt import Receipt
from authority_portal.custodian_node.client import NodeClient
from authority_portal.custodian_node.request import attach_signature, unsigned_request
from authority_portal.warrants.authorisation import WarrantAuthorisation
from escrow.scope import ScopedRecord, Window
from escrow.workflow import Attempt, LawfulAccess


class Custodians(Protocol):
    """What the portal asks of the custodian nodes."""

    @property
    def ids(self) -> tuple[str, ...]: ...

    @property
    def threshold(self) -> int: ...

    def scope(self, window: Window) -> tuple[ScopedRecord, ...]: ...

    def open(self, window: Window, authorisation: WarrantAuthorisation,
             recovery_key: X25519PrivateKey) -> Attempt: ...

    def request(self, custodian_id: str, authorisation: WarrantAuthorisation, nonce: str,
                approval: Receipt) -> bytes: ...

    def release(self, custodian_id: str, body: bytes, signature: bytes) -> tuple: ...


class NodeCustodians:
    """Custodian nodes reached through ``clients`` (node id -> client) and the workflow
    ``access`` over the archive; no key of anyone's."""

    def __init__(self, clients: Mapping[str, NodeClient], access: LawfulAccess) -> None:
        self._clients = dict(clients)
        self._access = access

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._clients)

    @property
    def threshold(self) -> int:
        return self._access.deployment.threshold

    def scope(self, window: Window) -> tuple[ScopedRecord, ...]:
        return self._access.scope(window)

    def open(self, window: Window, authorisation: WarrantAuthorisation,
             recovery_key: X25519PrivateKey) -> Attempt:
        return self._access.open(window, authorisation, recovery_key)

    def request(self, custodian_id: str, authorisation: WarrantAuthorisation, nonce: str,
                approval: Receipt) -> bytes:
        """The RFC 8785 body the operator of ``custodian_id`` is asked to sign."""
        return unsigned_request(custodian_id, authorisation, nonce, approval)

    def release(self, custodian_id: str, body: bytes, signature: bytes) -> tuple:
        """``body`` with the operator's ``signature``, sent to their node; its releases."""
        return self._clients[custodian_id].release(attach_signature(body, signature))
