"""Shared pytest fixtures: where the public interoperability vectors live.

The vectors are copied into the repository (``tests/vectors/``, each folder with
its source and licence) so that the suite runs from any clone on its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
VECTORS_DIR = PROJECT_ROOT / "tests" / "vectors"


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """``tests/vectors`` (see ``tests/vectors/README.md`` for where each folder comes from)."""
    if not VECTORS_DIR.is_dir():
        pytest.fail(f"missing interoperability vectors: {VECTORS_DIR}")
    return VECTORS_DIR
