"""The portal's tables, with separation of duties enforced by the database itself
(docs/portal.md, "Separation of duties").

- :class:`Decision` is every judge's signature or denial and every custodian operator's
  approval. ``UNIQUE (warrant_id, user_id)``: one decision per person per warrant, so a
  judge who signed a warrant can never also approve it as a custodian operator, and
  nobody approves twice. ``UNIQUE (warrant_id, custodian_id)``: one approval per
  custodian. The row copies the warrant's filing officer through a composite foreign key
  to ``warrant (id, officer_id)`` and ``CHECK (user_id <> officer_id)``: the officer who
  filed a warrant cannot decide on it, whatever the application code does.
- :class:`RoleChange` grants or revokes a role only when a second admin approves:
  ``CHECK`` that requester, approver and the person changed are three different people.
- :class:`Warrant` holds what a judge signs (the record references and the one-time
  recovery *public* key); never a private key, a chain key or a plaintext.
"""

from __future__ import annotations

import datetime

from flask_security.models.sqla import FsModels, FsRoleMixin, FsUserMixin
from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from authority_portal.app.db import Base
from authority_portal.warrants import states as case_states
from authority_portal.warrants.states import FILED

FsModels.set_db_info(base_model=Base, user_table_name="portal_user",
                     role_table_name="portal_role")

OFFICER = "officer"
JUDGE = "judge"
CUSTODIAN = "custodian"
AUDITOR = "auditor"
ADMIN = "admin"
ROLES = (OFFICER, JUDGE, CUSTODIAN, AUDITOR, ADMIN)
SECOND_FACTOR_ROLES = frozenset({JUDGE, CUSTODIAN, ADMIN})
"""Roles whose holders must have a TOTP second factor (docs/portal.md, "Accounts")."""

# warrant states (docs/portal.md, "Warrant states"): the case's, from filing on (a draft
# never reaches the portal's tables)
STATES = tuple(state for state in case_states.STATES if state != case_states.DRAFT)


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class Role(Base, FsRoleMixin):
    __tablename__ = "portal_role"


class User(Base, FsUserMixin):
    __tablename__ = "portal_user"
    custodian_id: Mapped[str | None] = mapped_column(String(64))
    """The custodian node this person operates (custodian operators only)."""
    judge_key: Mapped[str | None] = mapped_column(String(64))
    """A judge's Ed25519 public key (hex); the private key stays with the judge."""

    @property
    def role_names(self) -> set[str]:
        return {role.name for role in self.roles}

    @property
    def label(self) -> str:
        return self.username or self.email


class Warrant(Base):
    __tablename__ = "warrant"
    __table_args__ = (
        UniqueConstraint("id", "officer_id", name="uq_warrant_officer"),
        CheckConstraint("window_end > window_start", name="ck_warrant_window"),
        CheckConstraint(f"status IN {STATES!r}", name="ck_warrant_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"))
    agency: Mapped[str] = mapped_column(String(128))
    jurisdiction: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str] = mapped_column(String(128))
    window_start: Mapped[float] = mapped_column(Float)
    window_end: Mapped[float] = mapped_column(Float)
    legal_basis: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[float] = mapped_column(Float)
    not_after: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default=FILED)
    records_json: Mapped[str] = mapped_column(Text)
    recovery_public: Mapped[str] = mapped_column(String(64))
    issuer: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(String(128))
    digest: Mapped[str | None] = mapped_column(String(64))


class DetectionOrderRecord(Base):
    """A detection order as the portal shows it (:mod:`authority_portal.app.orders`): its
    terms, status, approving judge and, once approved, the signed order's bytes (base64)."""

    __tablename__ = "detection_order"
    __table_args__ = (
        CheckConstraint("window_end > window_start", name="ck_order_window"),
        CheckConstraint("status IN ('filed', 'approved', 'denied', 'expired', 'cancelled', "
                        "'closed')", name="ck_order_status"),
        CheckConstraint("judge_id IS NULL OR judge_id <> officer_id",
                        name="ck_order_not_filing_officer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"))
    judge_id: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"))
    agency: Mapped[str] = mapped_column(String(128))
    jurisdiction: Mapped[str] = mapped_column(String(64))
    users_json: Mapped[str] = mapped_column(Text)
    window_start: Mapped[float] = mapped_column(Float)
    window_end: Mapped[float] = mapped_column(Float)
    database_version: Mapped[int] = mapped_column()
    legal_basis: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[float] = mapped_column(Float)
    not_after: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default=FILED)
    issuer: Mapped[str | None] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    signed_order: Mapped[str | None] = mapped_column(Text)


class Decision(Base):
    __tablename__ = "decision"
    __table_args__ = (
        UniqueConstraint("warrant_id", "user_id", name="uq_decision_person"),
        UniqueConstraint("warrant_id", "custodian_id", name="uq_decision_custodian"),
        ForeignKeyConstraint(["warrant_id", "officer_id"], ["warrant.id", "warrant.officer_id"],
                             name="fk_decision_warrant_officer"),
        CheckConstraint("user_id <> officer_id", name="ck_decision_not_filing_officer"),
        CheckConstraint("kind IN ('judge', 'custodian')", name="ck_decision_kind"),
        CheckConstraint("outcome IN ('approve', 'deny')", name="ck_decision_outcome"),
        CheckConstraint("(kind = 'custodian') = (custodian_id IS NOT NULL)",
                        name="ck_decision_custodian_named"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    warrant_id: Mapped[int] = mapped_column()
    officer_id: Mapped[int] = mapped_column()
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"))
    kind: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    custodian_id: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[float] = mapped_column(Float)


class RoleChange(Base):
    __tablename__ = "role_change"
    __table_args__ = (
        CheckConstraint("requested_by <> target_id", name="ck_role_change_not_self"),
        CheckConstraint("approved_by IS NULL OR (approved_by <> requested_by "
                        "AND approved_by <> target_id)", name="ck_role_change_two_admins"),
        CheckConstraint("action IN ('grant', 'revoke')", name="ck_role_change_action"),
        CheckConstraint("status IN ('pending', 'applied')", name="ck_role_change_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(8))
    requested_by: Mapped[int] = mapped_column(ForeignKey("portal_user.id"))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("portal_user.id"))
    status: Mapped[str] = mapped_column(String(8), default="pending")
    requested_at: Mapped[float] = mapped_column(Float)
