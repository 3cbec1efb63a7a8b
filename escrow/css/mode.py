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
the vouchers beside the ciphertext, not from any key: :meth:`CssDeployment.provider` builds
the provider's side (a database from the intersection of its suppliers' lists, a server
secret, the blinded table the devices hold and the matcher, docs/css_matcher.md), and
:meth:`CssProvider.collect` feeds it the vouchers of archived envelopes, each once, under
the sending user's account. A provider built for text detection (``text=True``) blinds the
database's text flag entry too (:func:`escrow.css.textscan.with_text_flag`), and
:meth:`CssProvider.flagged_texts` reads the text windows its matcher revealed (docs/css.md,
"Text under an order"). :meth:`CssDeployment.client` is one account's voucher maker;
the device's content hook around it is :class:`escrow.css.hook.CssContentHook`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from escrow.css import database, psi, shamir
from escrow.css.errors import CssError
from escrow.css.hashers import Hasher, get_hasher
from escrow.css.matcher import Matcher
from escrow.css.textscan import read_text_derivative, text_flag, with_text_flag
from escrow.css.vouchers import MAX_SYNTHETIC_RATE, VoucherClient
from escrow.none import NoDeployment
from escrow.none import recover_window as none_recover_window
from messaging.addresses import parse_address
from messaging.errors import HookRefusedError, WireFormatError
from messaging.hooks import ChainContext, NoEscrow
from messaging.wire import read_voucher

MODE = "css"
# The voucher threshold t: Shamir shares over GF(2^8) take 2..255 (docs/css_matcher.md);
# Apple's deployed value is 30.
MIN_VOUCHER_THRESHOLD = shamir.MIN_THRESHOLD
MAX_VOUCHER_THRESHOLD = shamir.MAX_X
DEFAULT_VOUCHER_THRESHOLD = 30
# Synthetic vouchers, in percent of the vouchers a device makes (Apple published no rate).
MAX_SYNTHETIC_PERCENT = round(MAX_SYNTHETIC_RATE * 100)
DEFAULT_SYNTHETIC_PERCENT = 10
DEFAULT_HASHER = "pdq"  # Meta's PDQ: the deployed perceptual hash the lab has (docs/css_hashing.md)
_NOTHING = ("mode 'css' escrows nothing: the provider learns matches from the vouchers "
            "beside the ciphertext, and no warrant unlocks the archive")


class CssChainHook(NoEscrow):
    """No record per chain, and none accepted (the vouchers ride per message, not per chain)."""

    mode = MODE

    def check_chain(self, context: ChainContext, record: bytes) -> None:
        if record:
            raise HookRefusedError("mode 'css' expects no escrow record, but the chain "
                                   "carries one")


@dataclass
class CssProvider:
    """The provider's side of a deployment: the database, its server secret, the blinded
    table every device holds and the matcher at t (docs/css_matcher.md).

    :meth:`collect` counts what it saw: ``vouchers`` (envelopes that carried one),
    ``submitted`` (distinct vouchers the matcher took) and ``refusals`` (account and reason
    of every voucher it refused as not well formed, or as conflicting with one it holds).
    ``text_flag`` is the text flag entry its table blinds, if it detects text.
    """

    database: database.HashDatabase
    secret: psi.ServerSecret
    table: psi.BlindedTable
    matcher: Matcher
    vouchers: int = 0
    submitted: int = 0
    refusals: list[tuple[str, str]] = field(default_factory=list)
    text_flag: bytes | None = None

    def collect(self, envelopes: Iterable[tuple[str, bytes]]) -> int:
        """Submit the voucher of every ``(sender address, envelope bytes)`` that carries one
        to the sender user's account, each voucher once (Sesame's copies of one message carry
        the same voucher); return how many new vouchers the matcher took."""
        new = 0
        for sender, envelope in envelopes:
            try:
                voucher = read_voucher(envelope)
            except WireFormatError:
                continue  # the relay accepted it, so it parses; a foreign entry is not ours
            if voucher is None:
                continue
            self.vouchers += 1
            account = parse_address(sender)[0]
            try:
                taken = self.matcher.submit(account, voucher)
            except CssError as exc:
                self.refusals.append((account, str(exc)))
                continue
            new += taken
        self.submitted += new
        return new

    def flagged_texts(self, account: str) -> tuple[tuple[str, ...], ...]:
        """The text windows of ``account``'s revealed text flags (none below t); its other
        derivatives are images'."""
        windows = (read_text_derivative(d) for d in self.matcher.derivatives(account))
        return tuple(w for w in windows if w is not None)


class CssDeployment(NoDeployment):
    """A ``css`` deployment: every device runs :class:`CssChainHook`; no parties; the
    archive opens nothing (:func:`escrow.none.recover_window`). ``voucher_threshold`` and
    ``synthetic_percent`` are the matcher's t and the devices' synthetic-voucher rate;
    ``hasher`` names the on-device perceptual hash (:data:`escrow.css.hashers.HASHERS`)."""

    mode = MODE
    hook_class = CssChainHook
    nothing_to_release = _NOTHING

    def __init__(self, voucher_threshold: int = DEFAULT_VOUCHER_THRESHOLD,
                 synthetic_percent: int = DEFAULT_SYNTHETIC_PERCENT,
                 hasher: str = DEFAULT_HASHER) -> None:
        self.voucher_threshold = voucher_threshold
        self.synthetic_percent = synthetic_percent
        self.hasher: Hasher = get_hasher(hasher)

    def __repr__(self) -> str:
        return (f"CssDeployment(voucher_threshold={self.voucher_threshold}, "
                f"synthetic_percent={self.synthetic_percent}, hasher={self.hasher.name!r})")

    def provider(self, supplier_lists: Mapping[str, Iterable[bytes]],
                 version: int = 1, *, text: bool = False) -> CssProvider:
        """The provider's side for database ``version`` built from ``supplier_lists``
        (supplier name -> hashes; only the hashes every supplier lists are kept); with
        ``text``, its table also blinds the version's text flag entry."""
        built = database.build(version, supplier_lists)
        secret = psi.ServerSecret.generate()
        blinded = with_text_flag(built) if text else built
        return CssProvider(built, secret, psi.build_table(blinded, secret),
                           Matcher(secret, self.voucher_threshold),
                           text_flag=text_flag(version, built.hash_bytes) if text else None)

    def client(self, table: psi.BlindedTable, rng: random.Random | None = None) -> VoucherClient:
        """One account's voucher maker for ``table`` at this deployment's t and synthetic
        rate (``rng``: which vouchers are synthetic, seeded in scenarios)."""
        return VoucherClient(table, self.voucher_threshold, self.synthetic_percent / 100, rng)


def deploy(voucher_threshold: int = DEFAULT_VOUCHER_THRESHOLD,
           synthetic_percent: int = DEFAULT_SYNTHETIC_PERCENT) -> CssDeployment:
    """The registry's ``deploy`` of ``css`` (its parameters checked by the registry)."""
    return CssDeployment(voucher_threshold, synthetic_percent)


recover_window = none_recover_window
