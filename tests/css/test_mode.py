"""The ``css`` mode in the registry (escrow/css/mode.py): no record, no parties, an archive
that opens nothing, and its two parameters checked by the registry."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from escrow.css.mode import CssChainHook, CssDeployment
from escrow.errors import ModeError, RecordRefusedError, WorkflowError
from escrow.modes import get_mode
from escrow.scope import Window
from messaging.errors import HookRefusedError, ModeMismatchError
from messaging.wire import parse_envelope
from tests.builders import session_pair
from tests.escrow.helpers import relay_world


def test_the_registry_deploys_css_with_its_parameters_checked():
    mode = get_mode("css")
    deployment = mode.deployment(voucher_threshold=5, synthetic_percent=0)
    assert isinstance(deployment, CssDeployment)
    assert (deployment.voucher_threshold, deployment.synthetic_percent) == (5, 0)
    assert mode.values() == {"voucher_threshold": 30, "synthetic_percent": 10}
    for bad in ({"voucher_threshold": 1}, {"voucher_threshold": 256},
                {"synthetic_percent": 51}, {"synthetic_percent": -1}):
        with pytest.raises(ModeError):
            mode.deployment(**bad)


def test_the_chain_hook_attaches_no_record_and_accepts_none():
    pair = session_pair(CssChainHook())  # Bob's session opened Alice's first message
    assert parse_envelope(pair.first_envelope).header.record == b""
    with pytest.raises(HookRefusedError, match="css"):
        CssChainHook().check_chain(None, b"record")
    with pytest.raises(ModeMismatchError):
        session_pair(CssChainHook(), bob_hook=get_mode("none").deployment().hook_for("b"))


def test_nothing_can_be_released_and_a_recovery_reads_nothing():
    deployment = get_mode("css").deployment()
    with pytest.raises(WorkflowError, match="escrows nothing"):
        deployment.admit(object())
    with pytest.raises(RecordRefusedError):
        deployment.screen(b"record")
    w = relay_world(deployment.hook_for, users=("alice", "bob"))
    dm = w.talk("alice", "bob", 4, 2)
    report = get_mode("css").recover(deployment, w.archive, Window(dm, 0, w.clock.now() + 1),
                                     None, (), X25519PrivateKey.generate())
    assert report.messages_in_scope == 4 and report.messages_recovered == 0
