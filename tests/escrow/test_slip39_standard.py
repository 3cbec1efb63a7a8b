"""What the standard SLIP-39 tooling makes of escrowlab's two kinds of mnemonics
(docs/formats.md, "SLIP-39 shares").

- A threshold record's shares carry the chain key as SLIP-39's *encrypted* master
  secret: the standard ``combine_mnemonics`` (what wallets and the ``shamir`` tool
  run) adds SLIP-39's passphrase decryption and so yields other bytes; the documented
  recovery is ``recover_ems(...).ciphertext``, with no decryption step (or, from a
  standard tool's output, one SLIP-39 encryption with the empty passphrase).
- The ceremony's backups are standard: ``combine_mnemonics`` with the empty passphrase
  gives the custodian's private keys.
"""

from __future__ import annotations

import pytest
from shamir_mnemonic import EncryptedMasterSecret, combine_mnemonics, decode_mnemonics, recover_ems

from escrow import ceremony, keystore, shares
from escrow.record import parse_record
from escrow.release import open_own_share
from escrow.threshold.hook import ThresholdEscrow
from messaging.wire import parse_envelope
from tests.escrow.helpers import conversation, make_custodians, make_set


class _RecordingThreshold(ThresholdEscrow):
    """The threshold hook, keeping each sending chain's context (its chain key) for the test."""

    def __init__(self, custodian_set) -> None:
        super().__init__(custodian_set)
        self.contexts = []

    def record_for_chain(self, context):
        self.contexts.append(context)
        return super().record_for_chain(context)


@pytest.fixture(scope="module")
def escrowed():
    """A real chain's record, each custodian's opened share as SLIP-39 words, and CK_0."""
    custodians = make_custodians(5)
    hook = _RecordingThreshold(make_set(custodians, 3))
    conv = conversation(hook)
    envelope = conv.archive[0].envelope
    record = parse_record(parse_envelope(envelope).header.record)
    words = []
    for custodian in custodians:
        _digest, index, value = open_own_share(custodian, hook.custodian_set, envelope)
        words.append(shares.mnemonic(record.identifier, record.threshold, index, value))
    chain_key = hook.contexts[0].chain_key
    assert len(chain_key) == 32 and record.secret_length == 32
    return words, record, chain_key


def test_standard_combine_mnemonics_on_a_records_shares_gives_other_bytes(escrowed):
    words, _record, chain_key = escrowed
    standard = combine_mnemonics(words[:3])
    assert len(standard) == len(chain_key)
    assert standard != chain_key


def test_recover_ems_without_decryption_gives_the_chain_key(escrowed):
    words, record, chain_key = escrowed
    for chosen in (words[:3], words[2:], [words[0], words[2], words[4]]):
        ems = recover_ems(decode_mnemonics(chosen))
        assert ems.ciphertext == chain_key
        assert ems.identifier == record.identifier
        assert (ems.extendable, ems.iteration_exponent) == (True, 0)


def test_a_standard_tools_output_becomes_the_chain_key_by_one_empty_passphrase_encryption(
        escrowed):
    words, record, chain_key = escrowed
    printed = combine_mnemonics(words[1:4])  # what `shamir recover` prints
    again = EncryptedMasterSecret.from_master_secret(printed, b"", record.identifier, True, 0)
    assert again.ciphertext == chain_key


def test_fewer_than_t_shares_recover_nothing(escrowed):
    from shamir_mnemonic import MnemonicError

    words, _record, _chain_key = escrowed
    with pytest.raises(MnemonicError):
        recover_ems(decode_mnemonics(words[:2]))


def test_the_ceremonys_backups_combine_with_the_standard_combine_mnemonics(tmp_path):
    passphrases = [f"passphrase-{i}" for i in range(3)]
    result = ceremony.run_ceremony(tmp_path / "set", 3, 2, passphrases, kdf=keystore.FAST_KDF)
    for member, passphrase in zip(result.custodian_set.members, passphrases, strict=True):
        backups = [p.read_text().strip() for p in result.backup_paths(member.custodian_id)]
        private = combine_mnemonics(backups[:2])
        stored = keystore.load(result.keystore_path(member.custodian_id), passphrase)
        assert private == stored.keys.private_bytes()
        assert combine_mnemonics(backups[1:]) == private
