"""Where the project and its copied interoperability vectors are (``tests/vectors/README.md``)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
VECTORS_DIR = PROJECT_ROOT / "tests" / "vectors"
