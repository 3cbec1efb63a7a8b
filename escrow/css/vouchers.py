"""Safety vouchers: the device's two-layer encryption of an image's visual derivative, and
the strict fixed-size format that carries it (docs/css_matcher.md, "Safety vouchers").

Apple's "CSAM Detection — Technical Summary" (2021), "Synthetic Match Vouchers" and "Safety
Voucher Mechanics", and Bhowmick et al.,
"The Apple PSI System" (2021), section 4 (the tPSI-AD protocol): the device holds a
per-account key (``adkey``).
The *inner* layer encrypts the visual derivative under ``adkey``; the *outer* layer carries
the inner ciphertext and one Shamir share of ``adkey`` (:mod:`escrow.css.shamir`, threshold
t), encrypted under a fresh voucher key that is wrapped under the PSI key of each of the
image hash's two cuckoo candidates (:mod:`escrow.css.psi`). The server can open the outer
layer only when the hash is in its database; with t shares of real matches it reconstructs
``adkey`` and opens every matching voucher's inner layer.

With probability ``synthetic_rate`` a device emits a *synthetic* voucher instead of the real
one: its outer layer opens for the server like a match, but its share and inner ciphertext
are random bytes, so below t the server cannot tell how many of the opened vouchers are real
matches. Every voucher (real, synthetic, matching or not) takes the next x coordinate of the
account's current sharing epoch; after 255 vouchers the device starts a new epoch with a new
``adkey``.

Format (every voucher has exactly :data:`VOUCHER_BYTES` bytes, all layers fixed-size):

    header   = "ELCV" | format u8 | table version u32 | voucher id (16)
    voucher  = header | (Q (32) | wrapped key (48)) x 2 | outer ciphertext
    outer    = ChaCha20-Poly1305(voucher key, nonce 0, aad = header | Q_1 | Q_2)
               of: epoch u32 | x u8 | share (32) | inner nonce (12) | inner ciphertext
    inner    = ChaCha20-Poly1305(adkey, inner nonce, aad = header)
               of: derivative length u16 | derivative | zero padding to DERIVATIVE_BYTES
    wrapped  = ChaCha20-Poly1305(PSI key of the candidate, nonce 0, aad = header | Q)
               of the voucher key

The voucher key and the PSI keys are used once each, so their nonce is fixed (RFC 8439,
section 4: a nonce must not repeat under one key); ``adkey`` is used at most 255 times,
each with a random nonce.
"""

from __future__ import annotations

import os
import random
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from escrow.css import psi, shamir
from escrow.css.errors import PointError, VoucherError

FORMAT = 1
VOUCHER_ID_BYTES = 16
ADKEY_BYTES = 32
DERIVATIVE_BYTES = 4096  # the visual derivative is padded to this size
NONCE_BYTES = 12
TAG_BYTES = 16
MAX_SYNTHETIC_RATE = 0.5

_MAGIC = b"ELCV"
_ZERO_NONCE = bytes(NONCE_BYTES)
HEADER_BYTES = len(_MAGIC) + 1 + 4 + VOUCHER_ID_BYTES
WRAPPED_BYTES = psi.KEY_BYTES + TAG_BYTES
INNER_BYTES = 2 + DERIVATIVE_BYTES + TAG_BYTES
OUTER_PLAIN_BYTES = 4 + 1 + ADKEY_BYTES + NONCE_BYTES + INNER_BYTES
OUTER_BYTES = OUTER_PLAIN_BYTES + TAG_BYTES
VOUCHER_BYTES = (HEADER_BYTES + psi.CUCKOO_FUNCTIONS * (psi.POINT_BYTES + WRAPPED_BYTES)
                 + OUTER_BYTES)
MAX_EPOCH = (1 << 32) - 1


def _header(table_version: int, voucher_id: bytes) -> bytes:
    return _MAGIC + struct.pack(">BI", FORMAT, table_version) + voucher_id


@dataclass(frozen=True)
class Voucher:
    """A parsed voucher: what anybody can read without a key."""

    table_version: int
    voucher_id: bytes
    queries: tuple[bytes, ...]
    wrapped: tuple[bytes, ...]
    outer: bytes

    @property
    def header(self) -> bytes:
        return _header(self.table_version, self.voucher_id)

    def outer_aad(self) -> bytes:
        return self.header + b"".join(self.queries)

    def encode(self) -> bytes:
        return (self.header + b"".join(q + w for q, w in zip(self.queries, self.wrapped,
                                                             strict=True)) + self.outer)


def decode(data: bytes) -> Voucher:
    """The voucher ``data`` encodes (:class:`VoucherError` for any other bytes)."""
    if not isinstance(data, bytes) or len(data) != VOUCHER_BYTES:
        raise VoucherError(f"a safety voucher is exactly {VOUCHER_BYTES} bytes")
    if not data.startswith(_MAGIC):
        raise VoucherError("not a safety voucher")
    fmt, version = struct.unpack_from(">BI", data, len(_MAGIC))
    if fmt != FORMAT:
        raise VoucherError(f"unknown safety voucher format {fmt}")
    if version == 0:
        raise VoucherError("a voucher names a table version >= 1")
    voucher_id = data[HEADER_BYTES - VOUCHER_ID_BYTES:HEADER_BYTES]
    offset = HEADER_BYTES
    queries, wrapped = [], []
    for _ in range(psi.CUCKOO_FUNCTIONS):
        try:
            queries.append(psi.check_point(data[offset:offset + psi.POINT_BYTES]))
        except PointError as exc:
            raise VoucherError("a voucher's PSI query is not a valid point") from exc
        wrapped.append(data[offset + psi.POINT_BYTES:offset + psi.POINT_BYTES + WRAPPED_BYTES])
        offset += psi.POINT_BYTES + WRAPPED_BYTES
    return Voucher(version, voucher_id, tuple(queries), tuple(wrapped), data[offset:])


@dataclass(frozen=True)
class OuterLayer:
    """What the server reads once a voucher's outer layer opens."""

    epoch: int
    share: shamir.Share
    inner_nonce: bytes
    inner: bytes

    def encode(self) -> bytes:
        return (struct.pack(">IB", self.epoch, self.share.x) + self.share.y + self.inner_nonce
                + self.inner)


def _decode_outer(plain: bytes) -> OuterLayer:
    if len(plain) != OUTER_PLAIN_BYTES:
        raise VoucherError("a voucher's outer layer has the wrong length")
    epoch, x = struct.unpack_from(">IB", plain, 0)
    try:
        share = shamir.Share(x, plain[5:5 + ADKEY_BYTES])
    except shamir.ShamirError as exc:
        raise VoucherError("a voucher's share has x = 0") from exc
    nonce_at = 5 + ADKEY_BYTES
    return OuterLayer(epoch, share, plain[nonce_at:nonce_at + NONCE_BYTES],
                      plain[nonce_at + NONCE_BYTES:])


def open_outer(secret: psi.ServerSecret, voucher: Voucher) -> OuterLayer | None:
    """The outer layer if one candidate's PSI key unwraps the voucher key (the hash is in
    the database, or the voucher is synthetic); ``None`` otherwise. A voucher whose key
    unwraps but whose outer layer does not decrypt or parse is malformed
    (:class:`VoucherError`)."""
    for query, wrapped in zip(voucher.queries, voucher.wrapped, strict=True):
        key = psi.server_key(secret, query, voucher.header)
        try:
            voucher_key = ChaCha20Poly1305(key).decrypt(_ZERO_NONCE, wrapped,
                                                        voucher.header + query)
        except InvalidTag:
            continue
        try:
            plain = ChaCha20Poly1305(voucher_key).decrypt(_ZERO_NONCE, voucher.outer,
                                                          voucher.outer_aad())
        except InvalidTag as exc:
            raise VoucherError("a voucher's outer layer does not decrypt under its key") from exc
        return _decode_outer(plain)
    return None


def open_inner(adkey: bytes, voucher: Voucher, outer: OuterLayer) -> bytes | None:
    """The visual derivative if ``adkey`` opens the inner layer, ``None`` if it does not (a
    wrong candidate key, or a synthetic voucher). A layer that opens but is badly padded is
    malformed (:class:`VoucherError`)."""
    try:
        plain = ChaCha20Poly1305(adkey).decrypt(outer.inner_nonce, outer.inner, voucher.header)
    except InvalidTag:
        return None
    (length,) = struct.unpack_from(">H", plain, 0)
    if length > DERIVATIVE_BYTES or any(plain[2 + length:]):
        raise VoucherError("a voucher's inner layer is badly padded")
    return plain[2:2 + length]


class VoucherClient:
    """One account's device: turns (image hash, visual derivative) into safety vouchers for
    the blinded table it holds.

    ``rng`` decides which vouchers are synthetic (a seeded :class:`random.Random` in
    scenarios; the system's randomness by default); keys, scalars, shares and nonces always
    come from the operating system.
    """

    def __init__(self, table: psi.BlindedTable, threshold: int, synthetic_rate: float = 0.0,
                 rng: random.Random | None = None) -> None:
        if not isinstance(table, psi.BlindedTable):
            raise VoucherError("a voucher client needs a blinded table")
        if not isinstance(synthetic_rate, float | int) or isinstance(synthetic_rate, bool) \
                or not 0.0 <= synthetic_rate <= MAX_SYNTHETIC_RATE:
            raise VoucherError(f"the synthetic rate is in 0..{MAX_SYNTHETIC_RATE}")
        try:
            # replaced at the first voucher, when the first epoch begins
            self._polynomial = shamir.Polynomial(bytes(ADKEY_BYTES), threshold)
        except shamir.ShamirError as exc:
            raise VoucherError(f"the voucher threshold must be in 2..{shamir.MAX_X}") from exc
        self.table = table
        self.threshold = threshold
        self.synthetic_rate = float(synthetic_rate)
        self._coin = rng if rng is not None else random.SystemRandom()
        self._shuffle = random.SystemRandom()
        self.epoch = -1
        self.synthetic_issued = 0
        self._next_x = shamir.MAX_X + 1
        self._adkey = b""

    def _next_share_x(self) -> int:
        if self._next_x > shamir.MAX_X:
            if self.epoch == MAX_EPOCH:
                raise VoucherError("this account has used every sharing epoch")
            self.epoch += 1
            self._adkey = os.urandom(ADKEY_BYTES)
            self._polynomial = shamir.Polynomial(self._adkey, self.threshold)
            self._next_x = 1
        x = self._next_x
        self._next_x += 1
        return x

    @property
    def adkey(self) -> bytes:
        """The current epoch's account key (what the server reconstructs at t matches)."""
        return self._adkey

    def voucher(self, image_hash: bytes, visual_derivative: bytes) -> bytes:
        """One encoded voucher for an image with hash ``image_hash``."""
        if not isinstance(image_hash, bytes) or not image_hash:
            raise VoucherError("an image hash is non-empty bytes")
        if not isinstance(visual_derivative, bytes) or len(visual_derivative) > DERIVATIVE_BYTES:
            raise VoucherError(f"a visual derivative is at most {DERIVATIVE_BYTES} bytes")
        x = self._next_share_x()
        voucher_id = os.urandom(VOUCHER_ID_BYTES)
        header = _header(self.table.version, voucher_id)
        synthetic = self._coin.random() < self.synthetic_rate
        inner_nonce = os.urandom(NONCE_BYTES)
        if synthetic:
            self.synthetic_issued += 1
            queries = list(psi.synthetic_queries(self.table, header))
            share = shamir.Share(x, os.urandom(ADKEY_BYTES))
            inner = os.urandom(INNER_BYTES)
        else:
            queries = list(psi.client_queries(self.table, image_hash, header))
            share = self._polynomial.share(x)
            padded = (struct.pack(">H", len(visual_derivative)) + visual_derivative
                      + bytes(DERIVATIVE_BYTES - len(visual_derivative)))
            inner = ChaCha20Poly1305(self._adkey).encrypt(inner_nonce, padded, header)
        self._shuffle.shuffle(queries)
        voucher_key = os.urandom(psi.KEY_BYTES)
        wrapped = tuple(ChaCha20Poly1305(q.key).encrypt(_ZERO_NONCE, voucher_key,
                                                        header + q.query) for q in queries)
        query_points = tuple(q.query for q in queries)
        outer_plain = OuterLayer(self.epoch, share, inner_nonce, inner).encode()
        outer = ChaCha20Poly1305(voucher_key).encrypt(_ZERO_NONCE, outer_plain,
                                                      header + b"".join(query_points))
        return Voucher(self.table.version, voucher_id, query_points, wrapped, outer).encode()
