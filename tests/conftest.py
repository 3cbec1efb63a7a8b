"""Shared pytest fixtures: where the public interoperability vectors live."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_TESTDATA = PROJECT_ROOT.parent / "shared" / "testdata"


@pytest.fixture(scope="session")
def shared_testdata() -> Path:
    """``../shared/testdata`` relative to the project root (see the developers' brief)."""
    if not SHARED_TESTDATA.is_dir():
        pytest.fail(f"missing interoperability vectors: {SHARED_TESTDATA}")
    return SHARED_TESTDATA
