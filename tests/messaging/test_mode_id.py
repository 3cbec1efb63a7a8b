"""Escrow mode ids (:mod:`messaging.mode_id`): checked once, refused with messaging's own
error type."""

from __future__ import annotations

import pytest

from messaging.errors import MessagingError, ModeIdError
from messaging.limits import MAX_MODE_ID_LENGTH
from messaging.mode_id import validate_mode_id


@pytest.mark.parametrize("mode", ["", "x" * (MAX_MODE_ID_LENGTH + 1), "two words", "tab\t",
                                  "caf\u00e9", None, 7, b"threshold"],
                         ids=["empty", "too long", "space", "control", "non-ascii", "none",
                              "int", "bytes"])
def test_a_malformed_mode_id_is_a_messaging_error(mode):
    with pytest.raises(ModeIdError, match="escrow mode id") as caught:
        validate_mode_id(mode)
    assert isinstance(caught.value, MessagingError)


@pytest.mark.parametrize("mode", ["none", "threshold", "x" * MAX_MODE_ID_LENGTH])
def test_a_well_formed_mode_id_is_returned(mode):
    assert validate_mode_id(mode) == mode
