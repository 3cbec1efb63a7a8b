"""``escrowlab deployment init`` (docs/portal.md, "Running it: one process per party"): the
files it writes are the ones the manifest names, private keys readable by their owner only,
the keystores open with their lab passphrases, the appenders are each node and the portal,
the relay's chats are escrowed under the ceremony's set; every printed command parses;
bad input and a tampered manifest are refused and write nothing."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from audit.append_request import AppenderRegistry
from audit.storage import LogStore
from escrow import keystore
from escrow.custodian_set import CustodianSet
from escrow.record import parse_record
from escrowlab.cli import build_parser, main
from escrowlab.portal.deployment import DeploymentError, load
from escrowlab.portal.services import services
from messaging.relay.archive import RelayArchive


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    directory = tmp_path_factory.mktemp("d") / "dep"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["deployment", "init", "--dir", str(directory), "--custodians", "3",
                     "--threshold", "2", "--messages", "3", "--lab-kdf", "--json"]) == 0
    return directory, json.loads(out.getvalue())


def test_the_manifest_names_every_file_and_private_keys_are_the_owners(written):
    directory, printed = written
    manifest = load(directory)
    assert printed["manifest"] == str(directory / "manifest.json")
    private = [manifest.log_key_file, manifest.portal_appender_key_file,
               *manifest.judge_key_files.values(),
               *(w.key_file for w in manifest.witnesses),
               *(n.appender_key_file for n in manifest.nodes),
               *(n.operator_key_file for n in manifest.nodes)]
    public = [manifest.set_file, manifest.relay, manifest.log_file, manifest.appenders,
              manifest.judges, manifest.policy, *(w.state for w in manifest.witnesses)]
    for path in private:
        assert path.stat().st_mode & 0o777 == 0o600, path
    for path in public:
        assert path.is_file(), path
    assert directory.stat().st_mode & 0o077 == 0
    cset = CustodianSet.loads(manifest.set_file.read_bytes())
    assert cset.fingerprint == manifest.set_fingerprint and cset.threshold == 2
    for node in manifest.nodes:
        opened = keystore.load(node.keystore / "keystore.json",
                               (node.keystore / "passphrase.txt").read_text().strip())
        assert opened.public == cset.members[cset.index_of(node.id)]
    names = {v.name for v in AppenderRegistry.loads(manifest.appenders.read_bytes()).verifiers}
    assert names == {"custodian:K1", "custodian:K2", "custodian:K3", "portal"}
    with LogStore(manifest.log_file) as store:
        assert store.size == 0 and store.latest_checkpoint() is not None


def test_the_chats_are_escrowed_under_the_ceremonys_set(written):
    manifest = load(written[0])
    archive = RelayArchive.open(manifest.archive_url)
    try:
        entries = archive.entries(manifest.conversation_id)
        assert entries
        fingerprints = {parse_record(e.record).set_fingerprint for e in entries}
    finally:
        archive.engine.dispose()
    assert fingerprints == {manifest.set_fingerprint}
    times = sorted(e.received_at for e in entries)
    assert (times[0], times[-1]) == manifest.window


def test_every_printed_command_parses(written):
    listed = services(load(written[0]))
    assert [s.name for s in listed] == ["witness-1", "witness-2", "witness-3", "log",
                                        "node-K1", "node-K2", "node-K3", "portal"]
    assert [s.to_json() for s in listed] == written[1]["services"]
    parser = build_parser()
    for service in listed:
        assert service.argv[0] == "escrowlab"
        parser.parse_args(list(service.argv[1:]))


@pytest.mark.parametrize("argv, message", [
    (["--custodians", "3", "--threshold", "4"], "above --custodians"),
    (["--base-port", "65530"], "room for"),
])
def test_bad_options_write_nothing(tmp_path, capsys, argv, message):
    assert main(["deployment", "init", "--dir", str(tmp_path / "dep"), "--lab-kdf",
                 *argv]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(format="other/1"), "format"),
    (lambda m: m.update(relay="../elsewhere.db"), "inside the deployment folder"),
    (lambda m: m.update(relay="/etc/passwd"), "inside the deployment folder"),
    (lambda m: m["log"].update(port=0), "port"),
    (lambda m: m.update(extra=1), "unknown field"),
    (lambda m: m["nodes"][0].update(operator_key="zz"), "manifest.json"),
])
def test_a_tampered_manifest_is_refused(written, tmp_path, change, message):
    manifest = json.loads((written[0] / "manifest.json").read_bytes())
    change(manifest)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DeploymentError, match=message):
        load(tmp_path)
