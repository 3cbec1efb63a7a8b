"""The JSON API's OpenAPI 3.1 document, built with apispec (docs/portal.md, "The JSON
API"). :data:`OPERATIONS` is the one list of API operations: path, method, the role it
needs, its summary, its request body and its success response. A test checks that the
app serves exactly these routes, and schemathesis checks the app against the document.

Every POST needs the session cookie and the CSRF token in ``X-CSRFToken``.
"""

from __future__ import annotations

from apispec import APISpec

NUMBER = {"type": "number"}
TEXT = {"type": "string"}
NULLABLE_TEXT = {"type": ["string", "null"]}
ERROR = {"type": "object", "required": ["error"], "properties": {"error": TEXT}}
WARRANT = {
    "type": "object",
    "required": ["reference", "status", "agency", "jurisdiction", "conversation_id",
                 "window_start", "window_end", "legal_basis", "filed_at", "not_after",
                 "issuer", "warrant_sha256"],
    "properties": {"reference": TEXT, "status": TEXT, "agency": TEXT, "jurisdiction": TEXT,
                   "conversation_id": TEXT, "window_start": NUMBER, "window_end": NUMBER,
                   "legal_basis": TEXT, "filed_at": NUMBER, "not_after": NUMBER,
                   "issuer": NULLABLE_TEXT, "warrant_sha256": NULLABLE_TEXT},
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _list_of(key: str, item: str, **extra) -> dict:
    return {"type": "object", "required": [key, *extra],
            "properties": {key: {"type": "array", "items": _ref(item)}, **extra}}


SCHEMAS = {
    "Error": ERROR,
    "Warrant": WARRANT,
    "WarrantList": _list_of("warrants", "Warrant"),
    "CustodianWarrants": {"type": "object", "required": ["custodian", "warrants"],
                          "properties": {"custodian": NULLABLE_TEXT,
                                         "warrants": {"type": "array",
                                                      "items": _ref("Warrant")}}},
    "Filing": {
        "type": "object", "additionalProperties": False,
        "required": ["agency", "jurisdiction", "conversation_id", "window_start",
                     "window_end", "validity_days", "legal_basis"],
        "properties": {"agency": TEXT, "jurisdiction": TEXT, "conversation_id": TEXT,
                       "window_start": NUMBER, "window_end": NUMBER,
                       "validity_days": NUMBER, "legal_basis": TEXT}},
    "Statement": {"type": "object", "required": ["reference", "issuer", "statement"],
                  "properties": {"reference": TEXT, "issuer": TEXT,
                                 "statement": {"type": "string", "contentEncoding": "base64"}}},
    "ReleaseRequest": {"type": "object",
                       "required": ["reference", "custodian", "request", "sha256"],
                       "properties": {"reference": TEXT, "custodian": TEXT,
                                      "request": {"type": "string",
                                                  "contentEncoding": "base64"},
                                      "sha256": TEXT}},
    "Signature": {"type": "object", "additionalProperties": False, "required": ["signature"],
                  "properties": {"signature": TEXT}},
    "Denial": {"type": "object", "additionalProperties": False, "required": ["reason"],
               "properties": {"reason": TEXT}},
    "Progress": {"type": "object",
                 "required": ["warrant", "status", "progress", "required", "custodians"],
                 "properties": {"warrant": TEXT, "status": TEXT,
                                "progress": {"type": "integer"},
                                "required": {"type": "integer"},
                                "custodians": {"type": "array", "items": TEXT}}},
    "Recovered": {"type": "object",
                  "required": ["conversation_id", "window", "messages_in_scope",
                               "messages_recovered", "out_of_scope_recoverable", "chains",
                               "messages"],
                  "properties": {"conversation_id": TEXT,
                                 "window": {"type": "array", "items": NUMBER},
                                 "messages_in_scope": {"type": "integer"},
                                 "messages_recovered": {"type": "integer"},
                                 "out_of_scope_recoverable": {"type": "integer"},
                                 "chains": {"type": "array", "items": {"type": "object"}},
                                 "messages": {"type": "array", "items": {"type": "object"}}}},
    "Entries": {"type": "object", "required": ["size", "entries"],
                "properties": {"size": {"type": "integer"},
                               "entries": {"type": "array", "items": {"type": "object"}}}},
    "Checkpoints": {"type": "object", "required": ["checkpoints"],
                    "properties": {"checkpoints": {"type": "array",
                                                   "items": {"type": "object"}}}},
    "Verification": {"type": "object", "required": ["ok"],
                     "properties": {"ok": {"type": "boolean"}, "error": TEXT,
                                    "report": {"type": "object"}}},
    "Trail": {"type": "object", "required": ["reference", "trail"],
              "properties": {"reference": TEXT,
                             "trail": {"type": "array", "items": {"type": "object"}}}},
    "Users": {"type": "object", "required": ["users"],
              "properties": {"users": {"type": "array", "items": {"type": "object"}}}},
    "RoleChange": {"type": "object",
                   "required": ["id", "target", "role", "action", "requested_by",
                                "approved_by", "status"],
                   "properties": {"id": {"type": "integer"}, "target": NULLABLE_TEXT,
                                  "role": TEXT, "action": TEXT,
                                  "requested_by": NULLABLE_TEXT,
                                  "approved_by": NULLABLE_TEXT, "status": TEXT}},
    "RoleChanges": _list_of("changes", "RoleChange"),
    "RoleChangeRequest": {"type": "object", "additionalProperties": False,
                          "required": ["email", "role", "action"],
                          "properties": {"email": TEXT, "role": TEXT, "action": TEXT}},
    "DetectionOrder": {
        "type": "object",
        "required": ["reference", "status", "agency", "jurisdiction", "users", "window_start",
                     "window_end", "database_version", "legal_basis", "filed_at",
                     "not_after", "issuer", "order_sha256", "signed_order"],
        "properties": {"reference": TEXT, "status": TEXT, "agency": TEXT,
                       "jurisdiction": TEXT, "users": {"type": "array", "items": TEXT},
                       "window_start": NUMBER, "window_end": NUMBER,
                       "database_version": {"type": "integer"}, "legal_basis": TEXT,
                       "filed_at": NUMBER, "not_after": NUMBER, "issuer": NULLABLE_TEXT,
                       "order_sha256": TEXT,
                       "signed_order": {"type": ["string", "null"],
                                        "contentEncoding": "base64"}}},
    "DetectionOrderList": _list_of("orders", "DetectionOrder"),
    "OrderFiling": {
        "type": "object", "additionalProperties": False,
        "required": ["agency", "jurisdiction", "users", "window_start", "window_end",
                     "database_version", "validity_days", "legal_basis"],
        "properties": {"agency": TEXT, "jurisdiction": TEXT,
                       "users": {"type": "array", "items": TEXT},
                       "window_start": NUMBER, "window_end": NUMBER,
                       "database_version": {"type": "integer"}, "validity_days": NUMBER,
                       "legal_basis": TEXT}},
    "Me": {"type": "object", "required": ["authenticated"],
           "properties": {"authenticated": {"type": "boolean"}, "email": TEXT,
                          "roles": {"type": "array", "items": TEXT}}},
}

# (path, method, role, summary, request schema, success status, response schema)
OPERATIONS: tuple[tuple[str, str, str, str, str | None, int, str], ...] = (
    ("/api/v1/me", "get", "any", "Who is signed in", None, 200, "Me"),
    ("/api/v1/officer/warrants", "get", "officer", "The officer's warrants", None, 200,
     "WarrantList"),
    ("/api/v1/officer/warrants", "post", "officer", "File a warrant", "Filing", 201,
     "Warrant"),
    ("/api/v1/officer/warrants/{reference}", "get", "officer", "One of the officer's "
     "warrants", None, 200, "Warrant"),
    ("/api/v1/officer/warrants/{reference}/recovered", "get", "officer", "The recovered "
     "view (logged when opened)", None, 200, "Recovered"),
    ("/api/v1/officer/warrants/{reference}/close", "post", "officer", "Close the case "
     "(drops recovery key and plaintext)", None, 200, "Warrant"),
    ("/api/v1/judge/warrants", "get", "judge", "Warrants awaiting a judge", None, 200,
     "WarrantList"),
    ("/api/v1/judge/warrants/{reference}/statement", "get", "judge", "The bytes this "
     "judge signs", None, 200, "Statement"),
    ("/api/v1/judge/warrants/{reference}/signature", "post", "judge", "Approve with an "
     "Ed25519 signature over the statement", "Signature", 200, "Warrant"),
    ("/api/v1/judge/warrants/{reference}/denial", "post", "judge", "Deny", "Denial", 200,
     "Warrant"),
    ("/api/v1/officer/detection-orders", "get", "officer", "The officer's detection "
     "orders", None, 200, "DetectionOrderList"),
    ("/api/v1/officer/detection-orders", "post", "officer", "File a detection order",
     "OrderFiling", 201, "DetectionOrder"),
    ("/api/v1/officer/detection-orders/{reference}", "get", "officer", "One of the "
     "officer's detection orders, with the signed order once approved", None, 200,
     "DetectionOrder"),
    ("/api/v1/judge/detection-orders", "get", "judge", "Detection orders awaiting a judge",
     None, 200, "DetectionOrderList"),
    ("/api/v1/judge/detection-orders/{reference}/statement", "get", "judge", "The bytes "
     "this judge signs for a detection order", None, 200, "Statement"),
    ("/api/v1/judge/detection-orders/{reference}/signature", "post", "judge", "Approve a "
     "detection order with an Ed25519 signature over the statement", "Signature", 200,
     "DetectionOrder"),
    ("/api/v1/custodian/warrants", "get", "custodian", "Warrants awaiting releases", None,
     200, "CustodianWarrants"),
    ("/api/v1/custodian/warrants/{reference}/request", "get", "custodian", "The release "
     "request this operator signs for their node", None, 200, "ReleaseRequest"),
    ("/api/v1/custodian/warrants/{reference}/approval", "post", "custodian", "Approve with "
     "the operator's Ed25519 signature over the request; the node checks and releases",
     "Signature", 200, "Progress"),
    ("/api/v1/auditor/entries", "get", "auditor", "Log entries", None, 200, "Entries"),
    ("/api/v1/auditor/checkpoints", "get", "auditor", "Signed checkpoints and their "
     "cosigners", None, 200, "Checkpoints"),
    ("/api/v1/auditor/verification", "post", "auditor", "Run the offline verifier", None,
     200, "Verification"),
    ("/api/v1/auditor/warrants", "get", "auditor", "Every warrant", None, 200,
     "WarrantList"),
    ("/api/v1/auditor/warrants/{reference}/trail", "get", "auditor", "A warrant's log "
     "trail", None, 200, "Trail"),
    ("/api/v1/admin/users", "get", "admin", "Accounts", None, 200, "Users"),
    ("/api/v1/admin/role-changes", "get", "admin", "Role changes", None, 200,
     "RoleChanges"),
    ("/api/v1/admin/role-changes", "post", "admin", "Request a role change",
     "RoleChangeRequest", 201, "RoleChange"),
    ("/api/v1/admin/role-changes/{change_id}/approval", "post", "admin", "Approve "
     "another admin's role change", None, 200, "RoleChange"),
)
ERRORS = {"400": "bad request", "401": "not signed in", "403": "not this role",
          "404": "no such object", "409": "refused in this state",
          "429": "rate limited"}


def _parameters(path: str) -> list[dict]:
    found = []
    if "{reference}" in path:
        found.append({"name": "reference", "in": "path", "required": True,
                      "schema": {"type": "string", "maxLength": 64}})
    if "{change_id}" in path:
        found.append({"name": "change_id", "in": "path", "required": True,
                      "schema": {"type": "integer", "minimum": 0, "maximum": 2**31}})
    if path == "/api/v1/auditor/entries":
        found.append({"name": "start", "in": "query", "required": False,
                      "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"}})
    return found


def build_spec() -> dict:
    spec = APISpec(title="escrowlab warrant portal", version="1", openapi_version="3.1.0",
                   info={"description": __doc__.strip().splitlines()[0]})
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema)
    paths: dict[str, dict] = {}
    for path, method, role, summary, body, status, response in OPERATIONS:
        operation = {
            "summary": summary, "tags": [role], "parameters": _parameters(path),
            "responses": {str(status): {"description": "done", "content": {
                "application/json": {"schema": _ref(response)}}}},
        }
        for code, text in ERRORS.items():
            operation["responses"][code] = {"description": text, "content": {
                "application/json": {"schema": _ref("Error")}}}
        if body is not None:
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": _ref(body)}}}
        paths.setdefault(path, {})[method] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
