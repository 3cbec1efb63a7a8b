"""One blueprint per role (docs/portal.md, "Roles"), plus the dashboard and the OpenAPI
document (:mod:`authority_portal.app.blueprints.core`)."""
