"""Judges and approvals (authority_portal.warrants.judges, .signatures): Ed25519 over the
approval statement of the warrant hash, checked against one registry, k of m."""

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from authority_portal.warrants.errors import SignatureError, WarrantError
from authority_portal.warrants.judges import JudgeRegistry
from authority_portal.warrants.signatures import (
    JudgeSignature,
    approval_statement,
    sign_warrant,
    verify_approval,
)
from tests.portal.warrant_helpers import judge, registry, warrant


def test_a_judge_signature_is_plain_ed25519_over_the_statement():
    j, w = judge(), warrant()
    s = sign_warrant(j, w)
    Ed25519PublicKey.from_public_bytes(j.verifier.public_key).verify(
        s.signature, approval_statement(w.warrant_id, w.sha256).encode())
    assert s.key_id == j.verifier.key_id and s.judge_id == "J1"


def test_a_registered_judge_approves():
    j, w = judge(), warrant()
    assert verify_approval(w, [sign_warrant(j, w)], registry(j)) == ("J1",)


def test_a_signature_of_another_warrant_is_refused():
    j, w = judge(), warrant()
    other = sign_warrant(j, warrant(targets=("C2",)))
    with pytest.raises(SignatureError, match="does not verify"):
        verify_approval(w, [other], registry(j))


def test_an_unknown_key_is_refused():
    j, stranger, w = judge(), judge("J9"), warrant()
    with pytest.raises(SignatureError, match="not a judge this registry knows"):
        verify_approval(w, [sign_warrant(stranger, w)], registry(j))


def test_a_signature_claiming_another_judges_name_is_refused():
    j1, j2, w = judge("J1"), judge("J2"), warrant()
    s = dataclasses.replace(sign_warrant(j1, w), judge_id="J2")
    with pytest.raises(SignatureError, match="J1's, not J2's"):
        verify_approval(w, [s], registry(j1, j2))


def test_a_judge_of_another_jurisdiction_is_refused():
    j, w = judge(), warrant()
    with pytest.raises(SignatureError, match="sits in 'JB'"):
        verify_approval(w, [sign_warrant(j, w)], registry(j, jurisdiction="JB"))


def test_no_signature_is_refused():
    with pytest.raises(SignatureError, match="no judge signature"):
        verify_approval(warrant(), [], registry(judge()))


def test_k_of_m_needs_k_distinct_judges():
    js = [judge(f"J{i}") for i in range(1, 4)]
    w, reg = warrant(), registry(*js)
    one = [sign_warrant(js[0], w)]
    with pytest.raises(SignatureError, match="1 judge\\(s\\); 2 are required"):
        verify_approval(w, one, reg, required=2)
    with pytest.raises(SignatureError, match="signed twice"):
        verify_approval(w, one + one, reg, required=2)
    assert verify_approval(w, [sign_warrant(j, w) for j in js[:2]], reg, 2) == ("J1", "J2")


def test_the_registry_round_trips_and_refuses_duplicates():
    j1, j2 = judge("J1"), judge("J2")
    reg = registry(j1, j2)
    again = JudgeRegistry.loads(reg.encode())
    assert [x.to_json() for x in again.judges] == [x.to_json() for x in reg.judges]
    with pytest.raises(WarrantError, match="once"):
        JudgeRegistry([*reg.judges, reg.judges[0]])
    with pytest.raises(WarrantError):
        JudgeRegistry.loads(b'{"format": "escrowlab-judge-registry-v1", "judges": [1]}')


def test_a_signature_from_json_is_checked():
    s = sign_warrant(judge(), warrant())
    assert JudgeSignature.from_json(s.to_json()) == s
    with pytest.raises(SignatureError):
        JudgeSignature.from_json({**s.to_json(), "signature": "00"})
    with pytest.raises(SignatureError):
        JudgeSignature.from_json({**s.to_json(), "key_id": "zz"})
