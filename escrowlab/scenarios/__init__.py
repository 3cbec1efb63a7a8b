"""The attack-scenario catalogue as code (docs/scenarios.md).

One module per family of scenarios (custodians, warrants, log, ...) registers
its scenarios with :func:`escrowlab.scenarios.registry.scenario`; each run
returns :class:`escrowlab.scenarios.record.Outcome` records whose metrics carry
the names of docs/scenarios.md ("Measured quantities"). The tests under
``tests/attacks/`` and the ``escrowlab attacks`` report run the same code.
"""
