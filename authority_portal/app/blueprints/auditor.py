"""The auditor: the log's entries, its checkpoints with their cosignatures, the offline
verifier on demand, and every warrant's trail."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request

from authority_portal.app.errors import PortalError
from authority_portal.app.models import AUDITOR
from authority_portal.app.roles import role_required
from authority_portal.app.views import warrant_json
from authority_portal.app.web import casework, db, portal

bp = Blueprint("auditor", __name__)


def _start() -> int:
    text = request.args.get("start", "0")
    if not text.isdigit() or len(text) > 12:
        raise PortalError("start is a non-negative integer")
    return int(text)


@bp.get("/auditor")
@role_required(AUDITOR)
def home():
    log = portal().log
    return render_template("auditor/home.html", entries=log.entries(_start()),
                           checkpoints=log.checkpoints()[:5], verification=None,
                           warrants=casework().warrants(db()))


@bp.post("/auditor/verify")
@role_required(AUDITOR)
def verify_form():
    log = portal().log
    return render_template("auditor/home.html", entries=log.entries(0),
                           checkpoints=log.checkpoints()[:5], verification=log.verify(),
                           warrants=casework().warrants(db()))


@bp.get("/auditor/warrants/<reference>")
@role_required(AUDITOR)
def trail(reference):
    warrant = casework().warrant(db(), reference)
    return render_template("auditor/trail.html", warrant=warrant,
                           trail=portal().log.trail(reference))


@bp.get("/api/v1/auditor/entries")
@role_required(AUDITOR)
def api_entries():
    log = portal().log
    return jsonify({"size": log.size, "entries": [e.to_json() for e in log.entries(_start())]})


@bp.get("/api/v1/auditor/checkpoints")
@role_required(AUDITOR)
def api_checkpoints():
    return jsonify({"checkpoints": portal().log.checkpoints()})


@bp.post("/api/v1/auditor/verification")
@role_required(AUDITOR)
def api_verify():
    return jsonify(portal().log.verify())


@bp.get("/api/v1/auditor/warrants")
@role_required(AUDITOR)
def api_warrants():
    return jsonify({"warrants": [warrant_json(w) for w in casework().warrants(db())]})


@bp.get("/api/v1/auditor/warrants/<reference>/trail")
@role_required(AUDITOR)
def api_trail(reference):
    casework().warrant(db(), reference)
    return jsonify({"reference": reference,
                    "trail": [e.to_json() for e in portal().log.trail(reference)]})
