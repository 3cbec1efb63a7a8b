"""The provider's matcher: safety vouchers in, per account, the count of vouchers whose outer
layer opened, and the visual derivatives once t real matches reconstruct the account key
(docs/css_matcher.md, "Matcher").

Apple's "CSAM Detection — Technical Summary" (2021), "Threshold Secret Sharing" and
"Outer-Layer" / "Inner-Layer Unwrapping of Vouchers in iCloud", and
Bhowmick et al., "The Apple PSI System" (2021), section 4. Below t the server learns, per
account, how many vouchers it received and how many of them opened (real matches plus
synthetic vouchers, which it cannot tell apart); nothing about which images matched. Each time
a voucher opens and an epoch holds at least t opened vouchers, the matcher first decodes the
epoch's shares as a Reed-Solomon codeword (:func:`escrow.css.shamir.decode`), which finds the
account key in polynomial time whenever the real shares r and the synthetic ones s satisfy
r - s >= t, and keeps the candidate only if it decrypts the inner layer of a voucher whose
share is on the decoded polynomial. When it cannot (r - s < t), the matcher falls back to
combining t shares that include the new one (:func:`escrow.css.shamir.combine`), keeping a
candidate only if it decrypts the new voucher's inner layer (a synthetic share among the t
gives a wrong key), for at most ``max_combinations`` subsets per voucher. Apple's protocol
instead removes synthetic shares with its "detectable hash function" (docs/css_matcher.md,
"Decoding through synthetic shares" and "Differences from Apple's system").
Once the key is known, every opened voucher of the epoch is opened: its derivative if real,
and the synthetic ones are now known to be synthetic.

:meth:`Matcher.submit` ignores a voucher it already holds and refuses malformed bytes or a
different voucher under a known id with :class:`~escrow.css.errors.VoucherError`, leaving
its state unchanged.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

from escrow.css import psi, shamir, vouchers
from escrow.css.errors import VoucherError

MAX_COMBINATIONS = 20_000  # t-subsets tried per opened voucher when the decoder cannot decide
DECODER = "decoder"
SEARCH = "search"
MAX_ACCOUNT_NAME = 128
MAX_VOUCHERS_PER_ACCOUNT = 1 << 16


@dataclass
class _Epoch:
    opened: list[tuple[vouchers.Voucher, vouchers.OuterLayer]] = field(default_factory=list)
    adkey: bytes | None = None
    opened_by: str | None = None  # DECODER or SEARCH once adkey is known


@dataclass
class _Account:
    received: dict[bytes, bytes] = field(default_factory=dict)
    epochs: dict[int, _Epoch] = field(default_factory=dict)
    derivatives: dict[bytes, bytes] = field(default_factory=dict)
    synthetic: set[bytes] = field(default_factory=set)
    combinations: int = 0
    gave_up: int = 0
    decodings: int = 0


@dataclass(frozen=True)
class AccountView:
    """What the provider knows about one account. ``opened_by`` names, for each sharing epoch
    whose key was found (in epoch order), how: ``"decoder"`` or ``"search"``;
    ``decodings`` counts the decoder's runs, ``combinations`` the subsets the search tried
    and ``gave_up`` the times it reached its bound."""

    received: int
    opened: int
    revealed: bool
    derivatives: tuple[bytes, ...]
    known_synthetic: int
    combinations: int
    gave_up: int
    opened_by: tuple[str, ...]
    decodings: int


class Matcher:
    """The provider's side of the voucher protocol for one server secret and threshold t."""

    def __init__(self, secret: psi.ServerSecret, threshold: int,
                 max_combinations: int = MAX_COMBINATIONS) -> None:
        if not isinstance(threshold, int) or not 2 <= threshold <= shamir.MAX_X:
            raise VoucherError(f"the matcher's threshold must be in 2..{shamir.MAX_X}")
        if not isinstance(max_combinations, int) or max_combinations < 1:
            raise VoucherError("the matcher must try at least one combination")
        self.secret = secret
        self.threshold = threshold
        self.max_combinations = max_combinations
        self._accounts: dict[str, _Account] = {}

    def submit(self, account: str, voucher: bytes) -> bool:
        """Take one voucher from ``account``: ``True`` if it is new, ``False`` for a voucher
        already held (:class:`VoucherError` for malformed or conflicting bytes)."""
        if not isinstance(account, str) or not account or not account.isprintable() \
                or len(account) > MAX_ACCOUNT_NAME:
            raise VoucherError(f"an account name is 1..{MAX_ACCOUNT_NAME} printable characters")
        parsed = vouchers.decode(voucher)
        state = self._accounts.get(account, _Account())
        held = state.received.get(parsed.voucher_id)
        if held is not None:
            if held != voucher:
                raise VoucherError(f"account {account} already sent a different voucher "
                                   f"{parsed.voucher_id.hex()}")
            return False
        if len(state.received) >= MAX_VOUCHERS_PER_ACCOUNT:
            raise VoucherError(f"account {account} has sent {MAX_VOUCHERS_PER_ACCOUNT} vouchers")
        outer = vouchers.open_outer(self.secret, parsed)
        state.received[parsed.voucher_id] = voucher
        self._accounts[account] = state
        if outer is not None:
            epoch = state.epochs.setdefault(outer.epoch, _Epoch())
            epoch.opened.append((parsed, outer))
            self._advance(state, epoch)
        return True

    def _advance(self, state: _Account, epoch: _Epoch) -> None:
        voucher, outer = epoch.opened[-1]
        if epoch.adkey is not None:
            self._open(state, epoch.adkey, voucher, outer)
            return
        if len(epoch.opened) < self.threshold:
            return
        if not self._decode(state, epoch):
            self._search(state, epoch, voucher, outer)
        if epoch.adkey is not None:
            for each, each_outer in epoch.opened:
                self._open(state, epoch.adkey, each, each_outer)

    def _decode(self, state: _Account, epoch: _Epoch) -> bool:
        """The Reed-Solomon decoder over the epoch's shares; a coordinate held twice (which
        no honest device sends) is left out, since at most one of its shares is real."""
        held = Counter(o.share.x for _, o in epoch.opened)
        single = [(v, o) for v, o in epoch.opened if held[o.share.x] == 1]
        if len(single) < self.threshold:
            return False
        state.decodings += 1
        decoded = shamir.decode([o.share for _, o in single], self.threshold)
        if decoded is None:
            return False
        errors = set(decoded.errors)
        check, check_outer = next((v, o) for v, o in single if o.share.x not in errors)
        if vouchers.open_inner(decoded.secret, check, check_outer) is None:
            return False
        epoch.adkey, epoch.opened_by = decoded.secret, DECODER
        return True

    def _search(self, state: _Account, epoch: _Epoch, voucher: vouchers.Voucher,
                outer: vouchers.OuterLayer) -> None:
        """t-subsets of the opened shares that include the new one, at most
        ``max_combinations`` of them."""
        others = [o.share for _, o in epoch.opened[:-1] if o.share.x != outer.share.x]
        tried = 0
        for subset in itertools.combinations(others, self.threshold - 1):
            if tried == self.max_combinations:
                state.gave_up += 1
                break
            tried += 1
            try:
                candidate = shamir.combine([*subset, outer.share])
            except shamir.ShamirError:
                continue
            if vouchers.open_inner(candidate, voucher, outer) is not None:
                epoch.adkey, epoch.opened_by = candidate, SEARCH
                break
        state.combinations += tried

    @staticmethod
    def _open(state: _Account, adkey: bytes, voucher: vouchers.Voucher,
              outer: vouchers.OuterLayer) -> None:
        derivative = vouchers.open_inner(adkey, voucher, outer)
        if derivative is None:
            state.synthetic.add(voucher.voucher_id)
        else:
            state.derivatives[voucher.voucher_id] = derivative

    def view(self, account: str) -> AccountView:
        """What the provider knows about ``account`` (all zero for an unknown account)."""
        state = self._accounts.get(account, _Account())
        return AccountView(
            received=len(state.received),
            opened=sum(len(e.opened) for e in state.epochs.values()),
            revealed=any(e.adkey is not None for e in state.epochs.values()),
            derivatives=tuple(state.derivatives.values()),
            known_synthetic=len(state.synthetic),
            combinations=state.combinations,
            gave_up=state.gave_up,
            opened_by=tuple(state.epochs[k].opened_by for k in sorted(state.epochs)
                            if state.epochs[k].opened_by is not None),
            decodings=state.decodings)

    def opened(self, account: str) -> int:
        """The number of ``account``'s vouchers whose outer layer opened (real + synthetic):
        all the provider learns below t."""
        return self.view(account).opened

    def derivatives(self, account: str) -> tuple[bytes, ...]:
        """The visual derivatives of ``account``'s matching vouchers (empty below t)."""
        return self.view(account).derivatives

    def accounts(self) -> tuple[str, ...]:
        return tuple(self._accounts)
