"""Role changes need two admins and are logged (docs/portal.md, "Roles"): one admin
requests a grant or revocation for someone else, a second admin approves it, and only
then does it apply. The database refuses a request for oneself and an approval by the
requester or the person changed (:class:`~authority_portal.app.models.RoleChange`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authority_portal.app.auditing import PortalLog
from authority_portal.app.errors import Conflict, NotFound, PortalError
from authority_portal.app.models import ROLES, Role, RoleChange, User


def find_user(session: Session, email: object) -> User:
    user = session.scalar(select(User).where(User.email == email)) \
        if isinstance(email, str) else None
    if user is None:
        raise NotFound("no such account")
    return user


def change_json(change: RoleChange, session: Session) -> dict:
    names = {u.id: u.label for u in session.scalars(select(User))}
    return {"id": change.id, "target": names.get(change.target_id), "role": change.role,
            "action": change.action, "requested_by": names.get(change.requested_by),
            "approved_by": names.get(change.approved_by), "status": change.status}


def _commit(session: Session, message: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(message) from None


def request_change(session: Session, log: PortalLog, admin: User, email: object,
                   role: object, action: object, now: float) -> RoleChange:
    if role not in ROLES:
        raise PortalError(f"role must be one of {', '.join(ROLES)}")
    if action not in ("grant", "revoke"):
        raise PortalError("action is grant or revoke")
    target = find_user(session, email)
    change = RoleChange(target_id=target.id, role=role, action=action,
                        requested_by=admin.id, status="pending", requested_at=now)
    session.add(change)
    _commit(session, "an admin cannot request a role change for themselves")
    log.append("role.change_requested", admin.label, {
        "change": change.id, "target": target.label, "role": role, "action": action})
    session.commit()
    return change


def approve_change(session: Session, log: PortalLog, admin: User, change_id: int
                   ) -> RoleChange:
    change = session.get(RoleChange, change_id)
    if change is None:
        raise NotFound(f"no role change {change_id}")
    if change.status != "pending":
        raise Conflict(f"role change {change_id} was already applied")
    change.approved_by = admin.id
    change.status = "applied"
    _commit(session, "a role change needs a second admin, neither its requester nor the "
                     "person it changes")
    target = session.get(User, change.target_id)
    role = session.scalar(select(Role).where(Role.name == change.role))
    if change.action == "grant" and role not in target.roles:
        target.roles.append(role)
    elif change.action == "revoke" and role in target.roles:
        target.roles.remove(role)
    log.append("role.change_applied", admin.label, {
        "change": change.id, "target": target.label, "role": change.role,
        "action": change.action})
    session.commit()
    return change
