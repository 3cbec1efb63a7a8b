"""S02 cust-collude (docs/scenarios.md): t custodians collude without a warrant, bypassing the
portal.

Expected: everything escrowed is exposed; nothing in the protocol notices;
``min_coalition`` = t custodians + the archive. The coalition signs releases to
its own key with no judge involved and runs the real recovery
(``escrowlab.scenarios.custodians``).
"""

import pytest

from tests.attacks.records import outcome, run

ESCROW = ["threshold", "leaf16", "crumple"]


@pytest.mark.parametrize("mode", ESCROW)
def test_t_colluding_custodians_read_every_escrowed_message(mode):
    colluding = [o for o in run("S02", mode) if "colluding" in o.variant]
    assert len(colluding) == 1
    assert colluding[0].metrics["exposed_total"] == colluding[0].details["archived"] > 0


@pytest.mark.parametrize("mode", ESCROW)
def test_min_coalition_is_t_custodians_plus_the_archive(mode):
    (colluding,) = [o for o in run("S02", mode)
                    if "colluding" in o.variant]
    assert colluding.metrics["min_coalition"] == colluding.details["threshold"]
    assert colluding.details["min_coalition_needs"] == "the archive too"


@pytest.mark.parametrize("mode", ESCROW)
def test_nothing_in_the_protocol_notices(mode):
    quiet = outcome("S02", mode, "nothing notices")
    # archive and both sessions unchanged; the users keep talking and see no failure
    assert quiet.metrics["state_unchanged"] is True
    assert quiet.details["receive_failures_after"] == 0
    assert quiet.metrics["detectable"] == "none"


def test_without_escrow_there_is_nothing_to_collude_with():
    nothing = outcome("S02", "none", "no parties")
    assert nothing.details["parties"] == nothing.details["records_in_archive"] == 0
    assert nothing.metrics["exposed_total"] == 0 and nothing.metrics["min_coalition"] is None
