"""JSON shapes the API returns (the schemas of :mod:`authority_portal.app.openapi`)."""

from __future__ import annotations

import json

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


def order_json(record) -> dict:
    return {"reference": record.reference, "status": record.status,
            "agency": record.agency, "jurisdiction": record.jurisdiction,
            "users": json.loads(record.users_json), "window_start": record.window_start,
            "window_end": record.window_end, "database_version": record.database_version,
            "legal_basis": record.legal_basis, "filed_at": record.filed_at,
            "not_after": record.not_after, "issuer": record.issuer,
            "order_sha256": record.digest, "signed_order": record.signed_order}


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
