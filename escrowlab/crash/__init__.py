"""Crash trials: kill -9 at random points, restart, and check that nothing acknowledged is lost.

docs/architecture.md, "Conventions": "Writes that are acknowledged are durable." Each trial
runs a real child process (an ``escrowlab audit append``, an appender on the
:class:`audit.log.AuditLog` API, an ``escrowlab audit witness serve``, an
``escrowlab relay serve``), drives it over its real interface (command line,
HTTP on 127.0.0.1), SIGKILLs it at a random point, restarts it on the same
files and checks, after the restart:

- every item the child *acknowledged* (a receipt printed, a cosignature or an
  HTTP answer returned) is present exactly once;
- every store verifies (:func:`audit.verifier.verify_log`, SQLite's
  ``integrity_check`` and ``foreign_key_check``);
- the restarted process works (a failed restart is counted, not hidden).

``lost-answer`` is the deterministic counterpart for the relay: for each write
endpoint the request commits, its answer is dropped on the wire, and the real
client (:mod:`messaging.transport`, :mod:`messaging.client`) retries as it
always does (:mod:`escrowlab.crash.lost_answer`).

:mod:`escrowlab.crash.runner` runs the trials (``escrowlab crash``); the trial
kinds live in :mod:`escrowlab.crash.audit_trials`,
:mod:`escrowlab.crash.relay_trials` and :mod:`escrowlab.crash.lost_answer`.
This module stays free of imports so that child processes start fast.
"""
