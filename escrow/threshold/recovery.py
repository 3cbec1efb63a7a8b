"""Lawful recovery under ``threshold``: t custodians' releases -> the chain keys of exactly the
authorised records (docs/architecture.md, "Data flow" 6).

:func:`recover` runs the shared recovery of threshold records
(:func:`escrow.recovery.recover_chains`, every step described there) with this mode's
:data:`~escrow.recovery.Unlock` strategy, :func:`threshold_unlock`: the combined secret is
the chain key, or whatever a subclass's
:meth:`~escrow.threshold.hook.ThresholdEscrow.chain_key_from_secret` makes of it, confirmed
by recomputing the archived record byte for byte. :func:`recover_window` is the same call
with the mode registry's uniform signature (:data:`escrow.modes.Recover`).
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow.authorisation import ReleaseAuthorisation
from escrow.recovery import RecoveryReport, Unlock, UnlockedChain, recover_chains
from escrow.release import ShareRelease
from escrow.scope import Archive, ArchivedChain, Window
from escrow.threshold.deployment import CustodianDeployment
from escrow.threshold.hook import ThresholdEscrow


def threshold_unlock(hook: ThresholdEscrow) -> Unlock:
    """The strategy of ``threshold`` and its subclasses: the hook's
    :meth:`~escrow.threshold.hook.ThresholdEscrow.chain_key_from_secret`, then the record
    check."""

    def unlock(secret: bytes, chain: ArchivedChain) -> UnlockedChain | None:
        chain_key = hook.chain_key_from_secret(secret, chain.context)
        built = hook.build(chain.context.with_chain_key(chain_key))
        return UnlockedChain(chain_key, built) if built.record == chain.record else None

    return unlock


def recover(hook: ThresholdEscrow, archive: Archive, conversation_id: str, start: float,
            end: float, releases: Sequence[ShareRelease], recovery_key: X25519PrivateKey, *,
            authorisation: ReleaseAuthorisation) -> RecoveryReport:
    """Recover the messages of ``conversation_id`` received in ``[start, end)``.

    Only releases made under ``authorisation`` (its digest, id and issuer) count, and
    ``recovery_key`` must be the one it names. ``archive`` is the relay's archive read API;
    devices' identities come from it (the message AEAD binds both).
    """
    return recover_chains(hook, archive, conversation_id, start, end, releases, recovery_key,
                          threshold_unlock(hook), authorisation)


def recover_window(deployment: CustodianDeployment, archive: Archive, window: Window,
                   authorisation: ReleaseAuthorisation, releases: Sequence[ShareRelease],
                   recovery_key: X25519PrivateKey) -> RecoveryReport:
    """:func:`recover` with the registry's uniform signature (:data:`escrow.modes.Recover`)."""
    return recover(deployment.hook, archive, window.conversation_id, window.start,
                   window.end, releases, recovery_key, authorisation=authorisation)
