"""The commands that start a deployment's services, in order (docs/portal.md, "Running it:
one process per party"): the witnesses, the log that they cosign, one custodian node per
custodian appending to that log as itself, then the portal over those nodes. Each is an
``escrowlab`` command line built from the manifest (:mod:`escrowlab.portal.deployment`),
every service on its loopback port from the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass

from escrowlab.portal.deployment import Manifest


@dataclass(frozen=True)
class Service:
    """One process to start: its name, its ``escrowlab ...`` argv and where it listens."""

    name: str
    argv: tuple[str, ...]
    url: str

    def to_json(self) -> dict:
        return {"service": self.name, "argv": list(self.argv), "url": self.url}


def _url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def _witness_options(manifest: Manifest) -> list[str]:
    options = []
    for w in manifest.witnesses:
        options += ["--witness-url", _url(w.port), "--witness-key", w.witness_key]
    return [*options, "--quorum", str(manifest.quorum)]


def services(manifest: Manifest) -> list[Service]:
    """Every service of the deployment, in the order to start them."""
    out = [Service(f"witness-{i}", (
        "escrowlab", "audit", "witness", "serve", "--state", str(w.state), "--key-file",
        str(w.key_file), "--log-key", manifest.log_key, "--port", str(w.port)), _url(w.port))
        for i, w in enumerate(manifest.witnesses, start=1)]
    out.append(Service("log", (
        "escrowlab", "audit", "serve", "--log", str(manifest.log_file), "--key-file",
        str(manifest.log_key_file), "--appenders", str(manifest.appenders),
        *_witness_options(manifest), "--port", str(manifest.log_port)), manifest.log_url))
    for node in manifest.nodes:
        out.append(Service(f"node-{node.id}", (
            "escrowlab", "custodian", "serve", "--keystore", str(node.keystore),
            "--registry", str(manifest.judges), "--policy", str(manifest.policy),
            "--operator-key", node.operator_key.hex(), "--archive", manifest.archive_url,
            "--log-url", manifest.log_url, "--appender-key-file", str(node.appender_key_file),
            "--log-vkey", manifest.log_key, *_witness_options(manifest),
            "--port", str(node.port)), _url(node.port)))
    out.append(Service("portal", (
        "escrowlab", "portal", "--deployment", str(manifest.directory), "--custodians",
        ",".join(_url(n.port) for n in manifest.nodes), "--log-url", manifest.log_url,
        "--port", str(manifest.portal_port)), _url(manifest.portal_port)))
    return out
