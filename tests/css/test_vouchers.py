"""Safety vouchers: fixed size, strict parsing, the outer layer opens exactly for matches and
synthetic vouchers, the inner layer only under the account key."""

import random

import pytest

from escrow.css import vouchers
from escrow.css.errors import VoucherError
from tests.css.helpers import outside_hash, small_world


def test_vouchers_have_one_size_and_round_trip():
    db, _, table = small_world()
    client = vouchers.VoucherClient(table, threshold=3)
    for data in (client.voucher(db.hashes[0], b"thumb"), client.voucher(outside_hash(), b"")):
        assert len(data) == vouchers.VOUCHER_BYTES
        assert vouchers.decode(data).encode() == data


def test_outer_opens_for_matches_and_inner_under_the_account_key():
    db, secret, table = small_world()
    client = vouchers.VoucherClient(table, threshold=3)
    match = vouchers.decode(client.voucher(db.hashes[1], b"derivative"))
    outer = vouchers.open_outer(secret, match)
    assert outer is not None and outer.epoch == 0 and outer.share.x == 1
    assert vouchers.open_inner(client.adkey, match, outer) == b"derivative"
    assert vouchers.open_inner(bytes(32), match, outer) is None
    assert vouchers.open_outer(secret, vouchers.decode(client.voucher(outside_hash(), b"x"))) \
        is None


def test_synthetic_vouchers_open_outside_but_carry_nothing():
    _, secret, table = small_world()
    client = vouchers.VoucherClient(table, threshold=3, synthetic_rate=0.5,
                                    rng=random.Random(3))
    opened = []
    for _ in range(12):
        voucher = vouchers.decode(client.voucher(outside_hash(), b"private"))
        outer = vouchers.open_outer(secret, voucher)
        if outer is not None:
            opened.append(vouchers.open_inner(client.adkey, voucher, outer))
    assert len(opened) == client.synthetic_issued > 0
    assert opened == [None] * len(opened)


def test_a_new_epoch_and_key_after_255_vouchers():
    _, _, table = small_world(common=10)
    client = vouchers.VoucherClient(table, threshold=2)
    client.voucher(outside_hash(), b"")
    first = client.adkey
    for _ in range(255):
        client.voucher(outside_hash(), b"")
    assert client.epoch == 1 and client.adkey != first


def test_malformed_vouchers_are_refused():
    db, secret, table = small_world()
    data = vouchers.VoucherClient(table, threshold=3).voucher(db.hashes[0], b"d")
    for bad in (data[:-1], data + b"\x00", b"XLCV" + data[4:],
                data[:4] + b"\x02" + data[5:], data[:5] + bytes(4) + data[9:],
                data[:25] + bytes(32) + data[57:]):
        with pytest.raises(VoucherError):
            vouchers.decode(bad)
    tampered = bytearray(data)
    tampered[-1] ^= 1  # the outer ciphertext: the key unwraps, the layer does not decrypt
    with pytest.raises(VoucherError):
        vouchers.open_outer(secret, vouchers.decode(bytes(tampered)))


def test_client_parameters_are_checked():
    _, _, table = small_world(common=5)
    for kwargs in ({"threshold": 1}, {"threshold": 256}, {"threshold": 3, "synthetic_rate": 0.9},
                   {"threshold": 3, "synthetic_rate": -0.1}):
        with pytest.raises(VoucherError):
            vouchers.VoucherClient(table, **kwargs)
    client = vouchers.VoucherClient(table, threshold=3)
    with pytest.raises(VoucherError):
        client.voucher(b"h", bytes(vouchers.DERIVATIVE_BYTES + 1))
    with pytest.raises(VoucherError):
        client.voucher(b"", b"")
