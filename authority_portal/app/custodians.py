"""The custodians as the portal sees them (docs/portal.md, "Custodians").

The portal coordinates; it never holds a custodian's key. :class:`Custodians` is what it
needs: the nodes' names and threshold, the scope of a window, the workflow attempt that
collects releases (:class:`escrow.workflow.Attempt`), and one node's release for one
operator's approval. Each node (:class:`authority_portal.custodian_node.node.CustodianNode`,
in process or over HTTP) checks the request itself before it releases: the operator's
signature, the judges' signatures against its own registry, expiry by its own clock,
particularity, the records against the archive, the approval's inclusion in the witnessed
log, a fresh nonce; it logs its decision first.

:class:`NodeCustodians` signs each release request with the operator key of the node
(:func:`authority_portal.custodian_node.request.sign_request`). Those keys are handed to
it by whoever starts the portal (in the demo, in process): the request signature stands
for the operator's consent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from audit.receipt import Receipt
from authority_portal.custodian_node.client import NodeClient
from authority_portal.custodian_node.request import sign_request
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

    def release(self, custodian_id: str, authorisation: WarrantAuthorisation, nonce: str,
                approval: Receipt) -> tuple: ...


class NodeCustodians:
    """Custodian nodes reached through ``clients`` (node id -> client), the workflow
    ``access`` over the archive, and the operators' request keys."""

    def __init__(self, clients: Mapping[str, NodeClient], access: LawfulAccess,
                 operator_keys: Mapping[str, Ed25519PrivateKey]) -> None:
        self._clients = dict(clients)
        self._access = access
        self._operators = dict(operator_keys)

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

    def release(self, custodian_id: str, authorisation: WarrantAuthorisation, nonce: str,
                approval: Receipt) -> tuple:
        request = sign_request(self._operators[custodian_id], custodian_id, authorisation,
                               nonce, approval)
        return self._clients[custodian_id].release(request)
