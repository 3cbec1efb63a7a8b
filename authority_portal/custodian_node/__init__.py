"""The custodian node: one custodian as its own service, with its own keystore, database,
clock, judge registry, particularity policy and operator (docs/custodian_node.md).

:mod:`~authority_portal.custodian_node.request` (the operator-signed release request),
:mod:`~authority_portal.custodian_node.operator` (the operator's side: their key file and
the signature over a body, made outside the portal),
:mod:`~authority_portal.custodian_node.coordinator` (the portal's side of a release),
:mod:`~authority_portal.custodian_node.log_check` (the node's own check of the approval in
the witnessed log), :mod:`~authority_portal.custodian_node.store` (its SQLite database),
:mod:`~authority_portal.custodian_node.node` (the checks and the release, "log, then act"),
:mod:`~authority_portal.custodian_node.app` (its Flask app) and
:mod:`~authority_portal.custodian_node.client` (in-process and HTTP clients).
"""
