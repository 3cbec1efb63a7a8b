"""Reaching a custodian node: in-process (the default for the demo and tests) or over HTTP
on loopback (docs/custodian_node.md, "Running a node").

Both clients take a signed request's bytes and return the node's share releases, or raise
:class:`~authority_portal.custodian_node.errors.Refused` with the node's reason and the
receipt of its logged refusal. The HTTP client parses the node's answer strictly: a node is
a separate party, and what it sends back is input like any other. It also reads who a
served node says it is (``GET /v1/node``, :meth:`HttpClient.describe`), which the portal
checks against its deployment before it uses the node (docs/portal.md, "Running it").
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

import strictjson
from audit.errors import AuditError
from audit.receipt import Receipt
from authority_portal.custodian_node.errors import NodeError, Refused
from authority_portal.custodian_node.node import CustodianNode
from escrow.errors import EscrowError
from escrow.release import ShareRelease

MAX_RESPONSE_BYTES = 16 << 20


class NodeClient(Protocol):
    def release(self, request: bytes) -> tuple[ShareRelease, ...]: ...


class InProcessClient:
    """A node in this process."""

    def __init__(self, node: CustodianNode) -> None:
        self.node = node

    def __repr__(self) -> str:
        return f"InProcessClient({self.node.node_id})"

    def release(self, request: bytes) -> tuple[ShareRelease, ...]:
        return self.node.handle(request).releases


@dataclass(frozen=True)
class NodeInfo:
    """What a served node says it is: its id, its custodian set's fingerprint and its
    operator's public key (its judges and policy are in the answer too, not kept here)."""

    node: str
    set_fingerprint: bytes
    operator_key: bytes


class HttpClient:
    """A node served by :mod:`authority_portal.custodian_node.app` at ``url``."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise NodeError("a node URL is http(s)")
        self.url = url.rstrip("/")
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"HttpClient({self.url})"

    def describe(self) -> NodeInfo:
        """The node's ``GET /v1/node``, parsed strictly; :class:`NodeError` if it cannot
        be reached or does not answer as a custodian node."""
        try:
            with urllib.request.urlopen(self.url + "/v1/node",  # noqa: S310 - scheme checked
                                        timeout=self.timeout) as answer:
                body = answer.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise NodeError(f"{self.url} is not a custodian node (GET /v1/node answered "
                            f"HTTP {exc.code})") from None
        except (urllib.error.URLError, OSError) as exc:
            raise NodeError(f"node {self.url} cannot be reached: {exc}") from None
        try:
            data = _json(body)
            strictjson.fields(data, {"node": str, "set_fingerprint": str, "operator_key": str,
                                     "judges": list, "policy": dict}, what="node description",
                              error=NodeError)
            return NodeInfo(data["node"], bytes.fromhex(data["set_fingerprint"]),
                            bytes.fromhex(data["operator_key"]))
        except (NodeError, ValueError) as exc:
            raise NodeError(f"{self.url} does not answer as a custodian node: {exc}") from None

    def release(self, request: bytes) -> tuple[ShareRelease, ...]:
        post = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.url + "/v1/release", data=request, method="POST",
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(post, timeout=self.timeout) as answer:  # noqa: S310
                body = answer.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise _refusal(exc.read(MAX_RESPONSE_BYTES + 1), exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            raise NodeError(f"node {self.url} cannot be reached: {exc}") from None
        data = _json(body)
        try:
            strictjson.fields(data, {"node": str, "decision": str, "releases": list,
                                     "receipt": dict}, what="node answer", error=NodeError)
            return tuple(ShareRelease.from_json(r) for r in data["releases"])
        except EscrowError as exc:
            raise NodeError(f"node {self.url} answered with a bad release: {exc}") from None


def _json(body: bytes) -> object:
    if len(body) > MAX_RESPONSE_BYTES:
        raise NodeError("the node's answer is too long")
    return strictjson.loads(body, what="node answer", error=NodeError)


def _refusal(body: bytes, status: int) -> NodeError:
    try:
        data = _json(body)
        strictjson.fields(data, {"decision": str, "reason": str, "receipt": (dict, type(None))},
                          what="node refusal", error=NodeError)
        receipt = None if data["receipt"] is None else Receipt.from_json(data["receipt"])
    except (NodeError, AuditError):
        return NodeError(f"the node answered HTTP {status}: {body[:200]!r}")
    return Refused(data["reason"], receipt)


def refusal_json(exc: Refused) -> str:
    """What a node sends back for a refusal."""
    return json.dumps({"decision": "refused", "reason": exc.reason,
                       "receipt": None if exc.receipt is None else exc.receipt.to_json()})
