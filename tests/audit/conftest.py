"""The audit fixtures (defined in ``tests/audit/fixtures.py`` so attack tests share them)."""

from tests.audit.fixtures import clock, log, log_signer, quorum, witnesses  # noqa: F401
