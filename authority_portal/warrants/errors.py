"""The warrant package's errors (docs/warrants.md): one base type, a sub-type per check, each
with a message a person can act on and never a secret."""

from __future__ import annotations


class WarrantError(ValueError):
    """A warrant, registry, signature or case that is refused; nothing was changed."""


class PolicyError(WarrantError):
    """A warrant outside the particularity policy (too many targets, too long, a wildcard...)."""


class SignatureError(WarrantError):
    """Judge signatures that do not approve this warrant under this registry."""


class TransitionError(WarrantError):
    """A state change the case's state machine does not allow."""
