"""What a compromised or compelled provider does to the answers it serves (docs/ghost.md,
scenarios S19 and S20).

The relay's answers are not signed (clients authenticate keys, not the relay), so a
provider may rewrite any of them. :class:`RewritingTransport` sits between a device and
the relay and hands every answer to a rewrite function; the functions here are the
provider's tools: hide devices from a device list (the split view), substitute a device's
identity in a list, substitute a prekey bundle.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from messaging.identity import IdentityPublic
from messaging.relay_protocol import RelayRequest, RelayResponse
from messaging.transport import Transport

Rewrite = Callable[[RelayRequest, RelayResponse], RelayResponse]


class RewritingTransport:
    """A transport whose every answer passes through ``rewrite`` (the provider's hand)."""

    def __init__(self, inner: Transport, rewrite: Rewrite) -> None:
        self.inner = inner
        self.rewrite = rewrite
        self.rewritten = 0

    def request(self, request: RelayRequest) -> RelayResponse:
        response = self.inner.request(request)
        changed = self.rewrite(request, response)
        if changed is not response:
            self.rewritten += 1
        return changed


def _is_listing(request: RelayRequest, response: RelayResponse) -> bool:
    return request.method == "GET" and request.path.startswith("/v1/users/") and \
        request.path.endswith("/devices") and response.status == 200


def hide_devices(hidden: Collection[str]) -> Rewrite:
    """Serve every device list without the ``hidden`` addresses."""
    def rewrite(request: RelayRequest, response: RelayResponse) -> RelayResponse:
        if not _is_listing(request, response):
            return response
        devices = response.body.get("devices", [])
        kept = [d for d in devices if d.get("address") not in hidden]
        if len(kept) == len(devices):
            return response
        return RelayResponse(response.status, {**response.body, "devices": kept})
    return rewrite


def substitute_identity(address: str, identity: IdentityPublic) -> Rewrite:
    """Serve ``identity`` as the identity of ``address`` in every device list."""
    def rewrite(request: RelayRequest, response: RelayResponse) -> RelayResponse:
        if not _is_listing(request, response):
            return response
        devices = [{**d, "identity": identity.encode().hex()} if d.get("address") == address
                   else d for d in response.body.get("devices", [])]
        return RelayResponse(response.status, {**response.body, "devices": devices})
    return rewrite


def substitute_bundle(address: str, bundle: dict) -> Rewrite:
    """Serve ``bundle`` (another device's, the provider's) as the prekey bundle of
    ``address``."""
    def rewrite(request: RelayRequest, response: RelayResponse) -> RelayResponse:
        if request.method == "GET" and request.path == f"/v1/keys/{address}" and \
                response.status == 200:
            return RelayResponse(200, dict(bundle))
        return response
    return rewrite


def chain(*rewrites: Rewrite) -> Rewrite:
    """Apply ``rewrites`` in order."""
    def rewrite(request: RelayRequest, response: RelayResponse) -> RelayResponse:
        for each in rewrites:
            response = each(request, response)
        return response
    return rewrite
