"""The portal's one error type: a message a person can act on and the HTTP status it maps
to. A refused request changes nothing (docs/architecture.md, "Principles")."""

from __future__ import annotations


class PortalError(Exception):
    status = 400


class NotFound(PortalError):
    status = 404


class Forbidden(PortalError):
    status = 403


class Conflict(PortalError):
    status = 409
