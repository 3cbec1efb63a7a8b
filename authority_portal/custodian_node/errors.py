"""The custodian node's errors (docs/custodian_node.md): every refusal says why."""

from __future__ import annotations

from audit.receipt import Receipt


class NodeError(Exception):
    """A custodian node refused, or could not be set up or reached."""


class RequestError(NodeError):
    """A release request that is malformed or not signed by the node's operator."""


class Refused(NodeError):
    """The node refused a release; ``receipt`` is the log's receipt of the logged refusal
    (``None`` when even the refusal could not be logged)."""

    def __init__(self, reason: str, receipt: Receipt | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.receipt = receipt
