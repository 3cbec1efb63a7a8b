"""HTTP forms of the log's read API and of witnesses (Flask blueprints, a urllib client,
a waitress server for a witness in :mod:`audit.http.witness_server`).

Kept apart from the core modules so that ``audit`` itself never imports Flask; only code
that serves or calls the log over HTTP imports this sub-package.
"""
