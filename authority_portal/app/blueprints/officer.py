"""The requesting officer: file warrants, follow them, open the recovered view, close."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_security import current_user

from authority_portal.app.errors import PortalError
from authority_portal.app.models import OFFICER
from authority_portal.app.roles import role_required
from authority_portal.app.views import order_json, report_json, warrant_json
from authority_portal.app.web import casework, db, json_body, orders

bp = Blueprint("officer", __name__)
FIELDS = {"agency": str, "jurisdiction": str, "conversation_id": str,
          "window_start": (int, float), "window_end": (int, float),
          "validity_days": (int, float), "legal_basis": str}
ORDER_FIELDS = {"agency": str, "jurisdiction": str, "users": list,
                "window_start": (int, float), "window_end": (int, float),
                "database_version": int, "validity_days": (int, float), "legal_basis": str}


def _own_warrants():
    return [w for w in casework().warrants(db()) if w.officer_id == current_user.id]


def _when(text: str, label: str) -> float:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise PortalError(f"{label}: a date and time such as 2026-01-01T10:00 (UTC)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _number(text: str, label: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise PortalError(f"{label} must be a number") from None


@bp.get("/officer")
@role_required(OFFICER)
def home():
    return render_template("officer/home.html", warrants=_own_warrants())


@bp.post("/officer/warrants")
@role_required(OFFICER)
def file_form():
    form = request.form
    warrant = casework().file(db(), current_user, {
        "agency": form.get("agency"), "jurisdiction": form.get("jurisdiction"),
        "conversation_id": form.get("conversation_id"),
        "window_start": _when(form.get("window_start", ""), "window start"),
        "window_end": _when(form.get("window_end", ""), "window end"),
        "validity_days": _number(form.get("validity_days", ""), "validity"),
        "legal_basis": form.get("legal_basis")})
    return redirect(url_for("officer.show", reference=warrant.reference))


@bp.get("/officer/warrants/<reference>")
@role_required(OFFICER)
def show(reference):
    warrant = casework().warrant(db(), reference)
    if warrant.officer_id != current_user.id:
        raise PortalError("this warrant was filed by another officer")
    return render_template("officer/warrant.html", warrant=warrant,
                           decisions=casework().decisions(db(), warrant))


@bp.get("/officer/warrants/<reference>/recovered")
@role_required(OFFICER)
def recovered(reference):
    report = casework().recovered(db(), current_user, reference)
    return render_template("officer/recovered.html", reference=reference, report=report,
                           view=report_json(report, messages=True))


@bp.post("/officer/warrants/<reference>/close")
@role_required(OFFICER)
def close_form(reference):
    casework().close(db(), current_user, reference)
    return redirect(url_for("officer.show", reference=reference))


# -- JSON API ------------------------------------------------------------------------

@bp.get("/api/v1/officer/warrants")
@role_required(OFFICER)
def api_list():
    return jsonify({"warrants": [warrant_json(w) for w in _own_warrants()]})


@bp.post("/api/v1/officer/warrants")
@role_required(OFFICER)
def api_file():
    warrant = casework().file(db(), current_user, json_body(FIELDS))
    return jsonify(warrant_json(warrant)), 201


@bp.get("/api/v1/officer/warrants/<reference>")
@role_required(OFFICER)
def api_show(reference):
    warrant = casework().warrant(db(), reference)
    if warrant.officer_id != current_user.id:
        raise PortalError("this warrant was filed by another officer")
    return jsonify(warrant_json(warrant))


@bp.get("/api/v1/officer/warrants/<reference>/recovered")
@role_required(OFFICER)
def api_recovered(reference):
    return jsonify(report_json(casework().recovered(db(), current_user, reference),
                               messages=True))


@bp.post("/api/v1/officer/warrants/<reference>/close")
@role_required(OFFICER)
def api_close(reference):
    return jsonify(warrant_json(casework().close(db(), current_user, reference)))


# -- detection orders (docs/detection_orders.md, "In the portal") ---------------------

def _own_orders():
    return [o for o in orders().orders(db()) if o.officer_id == current_user.id]


def _own_order(reference):
    record = orders().order(db(), reference)
    if record.officer_id != current_user.id:
        raise PortalError("this detection order was filed by another officer")
    return record


@bp.get("/officer/detection-orders")
@role_required(OFFICER)
def orders_page():
    return render_template("orders/officer.html", orders=_own_orders())


@bp.post("/officer/detection-orders")
@role_required(OFFICER)
def file_order_form():
    form = request.form
    version = form.get("database_version", "").strip()
    record = orders().file(db(), current_user, {
        "agency": form.get("agency"), "jurisdiction": form.get("jurisdiction"),
        "users": [u.strip() for u in form.get("users", "").split(",") if u.strip()],
        "window_start": _when(form.get("window_start", ""), "window start"),
        "window_end": _when(form.get("window_end", ""), "window end"),
        "database_version": int(version) if version.isdecimal() else version,
        "validity_days": _number(form.get("validity_days", ""), "validity"),
        "legal_basis": form.get("legal_basis")})
    return redirect(url_for("officer.order_page", reference=record.reference))


@bp.get("/officer/detection-orders/<reference>")
@role_required(OFFICER)
def order_page(reference):
    return render_template("orders/officer_order.html", order=_own_order(reference))


@bp.get("/api/v1/officer/detection-orders")
@role_required(OFFICER)
def api_orders():
    return jsonify({"orders": [order_json(o) for o in _own_orders()]})


@bp.post("/api/v1/officer/detection-orders")
@role_required(OFFICER)
def api_file_order():
    record = orders().file(db(), current_user, json_body(ORDER_FIELDS))
    return jsonify(order_json(record)), 201


@bp.get("/api/v1/officer/detection-orders/<reference>")
@role_required(OFFICER)
def api_order(reference):
    return jsonify(order_json(_own_order(reference)))
