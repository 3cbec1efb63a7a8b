"""Benchmarks: commands that print figures and ratios (never timed assertions in tests).

Each module exposes ``register(subparsers)`` for ``escrowlab bench <name>`` and a
``run(...) -> dict`` that returns the figures under the JSON keys its issue names.
"""
