"""The ``css`` mode as the mode registry sees it (:mod:`escrow.modes`; docs/css.md).

Client-side scanning escrows nothing. It is a content hook, not a chain hook
(docs/architecture.md, "Three kinds of proposal, three extension points"): the sending
device inspects every attachment before it is encrypted and attaches a safety voucher to
the message (:mod:`messaging.content_hook`), and the provider's matcher learns what the
vouchers of one account hold once at least ``voucher_threshold`` of them match its hash
database (Apple, "CSAM Detection: Technical Summary", 2021: threshold secret sharing with
t = 30, and synthetic vouchers so that the count below t stays hidden). So the devices run
:class:`CssChainHook`, which, like ``none``'s and ``ghost``'s, attaches no record and
accepts none; the mode id ``css`` in every header and prekey signature says which policy
the deployment runs, and a device of another mode cannot talk to it
(:class:`~messaging.errors.ModeMismatchError`).

There is nobody to release anything: a recovery of an archived window reads nothing
(:func:`recover_window`, the same as ``none``'s). What the provider learns, it learns from
the vouchers beside the ciphertext, not from any key.
"""

from __future__ import annotations

from escrow.none import NoDeployment
from escrow.none import recover_window as none_recover_window
from messaging.errors import HookRefusedError
from messaging.hooks import ChainContext, NoEscrow

MODE = "css"
# The voucher threshold t: Shamir shares over GF(2^8) take 2..255 (docs/css_matcher.md);
# Apple's deployed value is 30.
MIN_VOUCHER_THRESHOLD = 2
MAX_VOUCHER_THRESHOLD = 255
DEFAULT_VOUCHER_THRESHOLD = 30
# Synthetic vouchers, in percent of the vouchers a device makes (Apple published no rate).
MAX_SYNTHETIC_PERCENT = 50
DEFAULT_SYNTHETIC_PERCENT = 10
_NOTHING = ("mode 'css' escrows nothing: the provider learns matches from the vouchers "
            "beside the ciphertext, and no warrant unlocks the archive")


class CssChainHook(NoEscrow):
    """No record per chain, and none accepted (the vouchers ride per message, not per chain)."""

    mode = MODE

    def check_chain(self, context: ChainContext, record: bytes) -> None:
        if record:
            raise HookRefusedError("mode 'css' expects no escrow record, but the chain "
                                   "carries one")


class CssDeployment(NoDeployment):
    """A ``css`` deployment: every device runs :class:`CssChainHook`; no parties; the
    archive opens nothing (:func:`escrow.none.recover_window`). ``voucher_threshold`` and
    ``synthetic_percent`` are the matcher's t and the devices' synthetic-voucher rate."""

    mode = MODE
    hook_class = CssChainHook
    nothing_to_release = _NOTHING

    def __init__(self, voucher_threshold: int = DEFAULT_VOUCHER_THRESHOLD,
                 synthetic_percent: int = DEFAULT_SYNTHETIC_PERCENT) -> None:
        self.voucher_threshold = voucher_threshold
        self.synthetic_percent = synthetic_percent

    def __repr__(self) -> str:
        return (f"CssDeployment(voucher_threshold={self.voucher_threshold}, "
                f"synthetic_percent={self.synthetic_percent})")


def deploy(voucher_threshold: int = DEFAULT_VOUCHER_THRESHOLD,
           synthetic_percent: int = DEFAULT_SYNTHETIC_PERCENT) -> CssDeployment:
    """The registry's ``deploy`` of ``css`` (its parameters checked by the registry)."""
    return CssDeployment(voucher_threshold, synthetic_percent)


recover_window = none_recover_window
