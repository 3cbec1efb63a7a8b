"""JSON shapes the API returns (the schemas of :mod:`authority_portal.app.openapi`)."""

from __future__ import annotations

from messaging.content import decode_content
from messaging.errors import WireFormatError


def warrant_json(warrant) -> dict:
    return {"reference": warrant.reference, "status": warrant.status,
            "agency": warrant.agency, "jurisdiction": warrant.jurisdiction,
            "conversation_id": warrant.conversation_id,
            "window_start": warrant.window_start, "window_end": warrant.window_end,
            "legal_basis": warrant.legal_basis, "filed_at": warrant.filed_at,
            "not_after": warrant.not_after, "issuer": warrant.issuer,
            "warrant_sha256": warrant.digest}


def message_text(plaintext: bytes) -> str:
    try:
        return decode_content(plaintext)["body"]
    except (WireFormatError, KeyError, TypeError):
        return plaintext.decode("utf-8", "replace")


def report_json(report, messages: bool = False) -> dict:
    shown = report.to_json()
    if messages:
        shown["messages"] = [{"received_at": m.received_at, "sender": m.sender,
                              "recipient": m.recipient, "chain_number": m.chain_number,
                              "message_number": m.message_number,
                              "text": message_text(m.plaintext)} for m in report.messages]
    return shown
