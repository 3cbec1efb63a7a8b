"""S12 portal-insider (docs/scenarios.md): someone inside the portal's operation attacks it.

Run against the real portal (:func:`escrowlab.portal.world.build`: app, database, log,
witnesses, in-process custodians), each variant measured:

- ``secrets-at-rest``: after a case ran to recovery and was closed, a database and file
  administrator scans every file of the portal (database, log, witnesses) for the
  recovery key, the chain keys the recovery computed and the recovered plaintexts;
- ``self-promotion``: an admin asks to make themselves a judge through the portal, then
  writes the judge role and a signing key of their own straight into the database and
  signs a warrant with it;
- ``csrf-against-judge``: a page on another origin makes a signed-in judge's browser post
  a denial or an approval without the CSRF token; and a session cookie planted before
  the judge signs in (fixation) is tried after;
- ``recovery-direct``: code inside the portal process opens its own workflow attempt of
  an approved warrant (with a recovery key of its own) and recovers it without any
  custodian's release, and calls a recovery route that does not exist;
- ``forged-release-requests``: the insider holds the portal's process and database
  (everything but the operators' own key files) while one honest operator releases, then
  sends every node, through the portal's own forwarding path, release requests it made
  itself: the exact body for each node signed with a key of its own, the honest operator's
  signed request replayed, that signature moved onto the other nodes' bodies, and, when a
  second operator signs, that operator's request altered in transit (the insider's own
  recovery key in place of the case's); the portal's files are scanned for the operators'
  private keys;
- ``edit-local-audit``: the administrator edits the ``recovered.viewed`` entry in the
  log's database in place, or rewrites the tree without it (dropping the signed head);
  the auditor's verifier and the witnesses' state are then consulted.
"""

from __future__ import annotations

import base64
import contextlib
import sqlite3
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import escrow.recovery
from audit.entries import Entry
from audit.rfc9162 import hash_leaf
from authority_portal.app.models import RoleChange, User
from authority_portal.custodian_node.errors import NodeError
from authority_portal.custodian_node.operator import load_key
from authority_portal.custodian_node.request import unsigned_request
from authority_portal.warrants.authorisation import authorise, warrant_window
from escrowlab.portal.client import PortalClient
from escrowlab.portal.world import HOLDERS, PortalWorld, build
from escrowlab.scenarios.fixture import rewrite_tree
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario

QUICK_HASH = {"argon2__rounds": 1, "argon2__memory_cost": 1024, "argon2__parallelism": 1}
LIMITS = {"login": "1000 per minute", "totp": "1000 per minute",
          "approval": "1000 per minute"}


def _world(directory: Path, params: Params) -> PortalWorld:
    config = {"PORTAL_RATE_LIMITS": LIMITS}
    if not params.full:
        config["SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS"] = QUICK_HASH
    return build(directory, messages=12 if params.full else 6, config=config)


def _file(world: PortalWorld, officer: PortalClient) -> str:
    start, end = world.archive_times
    answer = officer.post("/api/v1/officer/warrants", json={
        "agency": "Metropolitan Police", "jurisdiction": "JA",
        "conversation_id": world.conversation_id, "window_start": start,
        "window_end": (start + end) / 2, "validity_days": 10,
        "legal_basis": "Case 12, order of the court"})
    return answer.json["reference"]


def _sign(world: PortalWorld, judge: PortalClient, reference: str, key) -> int:
    statement = judge.get(f"/api/v1/judge/warrants/{reference}/statement").json["statement"]
    signature = key.sign(base64.b64decode(statement))
    return judge.post(f"/api/v1/judge/warrants/{reference}/signature",
                      json={"signature": base64.b64encode(signature).decode()}).status_code


def _judge_key(world: PortalWorld, name: str):
    return serialization.load_pem_private_key(world.judge_key_files[name].read_bytes(), None)


def _approve(world: PortalWorld, reference: str, operators) -> list[int]:
    """Each operator signs their node's request with their own key file (what their
    browser does) and posts the signature; the HTTP statuses."""
    statuses = []
    for number in operators:
        operator = PortalClient(world.app, world.accounts[f"operator-{number}"])
        answer = operator.get(f"/api/v1/custodian/warrants/{reference}/request")
        if answer.status_code != 200:
            statuses.append(answer.status_code)
            continue
        key = load_key(world.operator_key_files[f"operator-{number}"].read_bytes())
        signature = key.sign(base64.b64decode(answer.json["request"]))
        statuses.append(operator.post(f"/api/v1/custodian/warrants/{reference}/approval", json={
            "signature": base64.b64encode(signature).decode()}).status_code)
    return statuses


@contextlib.contextmanager
def _recording_chain_keys():
    """Record every chain key recovery computes (to look for it at rest afterwards)."""
    seen: list[bytes] = []
    real = escrow.recovery.read_chain

    def read_chain(chain, chain_key, identity_of):
        seen.append(chain_key)
        return real(chain, chain_key, identity_of)

    escrow.recovery.read_chain = read_chain
    try:
        yield seen
    finally:
        escrow.recovery.read_chain = real


def _files(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


def _secrets_at_rest(world: PortalWorld, mode: str) -> Outcome:
    officer = PortalClient(world.app, world.accounts["officer-1"])
    judge = PortalClient(world.app, world.accounts["judge-1"])
    reference = _file(world, officer)
    casework = world.app.extensions["portal"].casework
    recovery_key = casework.memory.get(reference).recovery_key.private_bytes_raw()
    with _recording_chain_keys() as chain_keys:
        _sign(world, judge, reference, _judge_key(world, "judge-1"))
        _approve(world, reference, (1, 2, 3))
    view = officer.get(f"/api/v1/officer/warrants/{reference}/recovered").json
    texts = sorted({m["text"] for m in view["messages"]})
    officer.post(f"/api/v1/officer/warrants/{reference}/close")
    world.app.extensions["portal"].engine.dispose()
    at_rest = _files(world.directory)
    keys = [recovery_key, *chain_keys]
    found_keys = sum(1 for k in keys if k in at_rest or k.hex().encode() in at_rest
                     or base64.b64encode(k) in at_rest)
    found_texts = sum(1 for t in texts if t.encode() in at_rest)
    return Outcome(
        "S12", mode, "secrets-at-rest",
        "after the case closes, no recovery key, chain key or plaintext in any portal file",
        holds=found_keys == found_texts == 0 and reference not in casework.memory,
        metrics={"exposed_total": found_texts, "detectable": "none"},
        details={"keys_looked_for": len(keys), "keys_found": found_keys,
                 "plaintexts_looked_for": len(texts), "plaintexts_found": found_texts,
                 "messages_recovered_before_close": view["messages_recovered"],
                 "bytes_scanned": len(at_rest)})


def _self_promotion(world: PortalWorld, mode: str) -> Outcome:
    admin = PortalClient(world.app, world.accounts["admin-1"])
    answer = admin.post("/api/v1/admin/role-changes", json={
        "email": world.accounts["admin-1"].email, "role": "judge", "action": "grant"})
    session = world.app.extensions["portal"].session
    me = session.scalar(select(User).where(User.email == world.accounts["admin-1"].email))
    session.add(RoleChange(target_id=me.id, role="judge", action="grant", requested_by=me.id,
                           approved_by=me.id, status="applied", requested_at=0.0))
    try:
        session.flush()
        forged_row = True
    except IntegrityError:
        forged_row = False
    session.rollback()
    roles_unchanged = "judge" not in me.role_names
    # the database administrator writes the role and an own key straight into the tables
    own_key = Ed25519PrivateKey.generate()
    datastore = world.app.extensions["portal_datastore"]
    with world.app.app_context():
        datastore.add_role_to_user(me, "judge")
        me.judge_key = own_key.public_key().public_bytes_raw().hex()
        session.commit()
    rogue = PortalClient(world.app, world.accounts["admin-1"])
    officer = PortalClient(world.app, world.accounts["officer-2"])
    reference = _file(world, officer)
    signed = _sign(world, rogue, reference, own_key)
    released = _approve(world, reference, (1, 2, 3))
    recovered = officer.get(f"/api/v1/officer/warrants/{reference}/recovered")
    exposed = recovered.json["messages_recovered"] if recovered.status_code == 200 else 0
    trail = [e.entry.type for e in world.log.trail(reference)]
    logged_changes = [e.entry.type for e in world.log.entries(0)
                      if e.entry.type.startswith("role.")]
    session.remove()
    return Outcome(
        "S12", mode, "self-promotion",
        "the portal refuses a self-promotion; one written into the database is not "
        "logged, and a signature by that 'judge' approves nothing (the judge registry is "
        "not the database) so no custodian releases",
        holds=answer.status_code == 409 and not forged_row and roles_unchanged
        and signed != 200 and released.count(200) == 0,
        metrics={"forged_accepted": signed == 200, "exposed_total": exposed,
                 "detectable": "none",
                 "state_unchanged": roles_unchanged},
        details={"portal_request": answer.status_code, "database_check_refused":
                 not forged_row, "rogue_signature_accepted_by_portal": signed == 200,
                 "custodian_answers": released, "trail": trail,
                 "role_changes_logged": logged_changes})


def _csrf_against_judge(world: PortalWorld, mode: str) -> Outcome:
    officer = PortalClient(world.app, world.accounts["officer-1"])
    reference = _file(world, officer)
    planted = PortalClient(world.app)
    planted.csrf()
    fixed_cookie = planted.cookie_header()
    judge = PortalClient(world.app)
    judge.http.set_cookie("session", fixed_cookie.split("session=", 1)[1].split(";")[0])
    judge.login(world.accounts["judge-2"])
    forged_form = judge.http.post(f"/judge/warrants/{reference}/deny",
                                  data={"reason": "forged"})
    forged_json = judge.post(f"/api/v1/judge/warrants/{reference}/denial",
                             json={"reason": "forged"}, csrf=False,
                             headers={"Origin": "https://attacker.example"})
    status = officer.get(f"/api/v1/officer/warrants/{reference}").json["status"]
    attacker = world.app.test_client()
    attacker.set_cookie("session", fixed_cookie.split("session=", 1)[1].split(";")[0])
    fixation = attacker.get("/api/v1/me").json["authenticated"]
    cookie = next(h for h in _login_headers(world) if h.startswith("session="))
    return Outcome(
        "S12", mode, "csrf-against-judge",
        "cross-site posts without the CSRF token are refused, the cookie is SameSite=Strict, "
        "and a session cookie planted before sign-in stays anonymous",
        holds=forged_form.status_code == forged_json.status_code == 400 and status == "filed"
        and not fixation and "SameSite=Strict" in cookie,
        metrics={"forged_accepted": status != "filed" or fixation, "state_unchanged":
                 status == "filed"},
        details={"form_post": forged_form.status_code, "json_post": forged_json.status_code,
                 "planted_cookie_authenticated": fixation,
                 "samesite_strict": "SameSite=Strict" in cookie})


def _login_headers(world: PortalWorld) -> list[str]:
    client = PortalClient(world.app)
    token = client.csrf()
    account = world.accounts["officer-2"]
    answer = client.http.post("/login", json={"email": account.email,
                                              "password": account.password},
                              headers={"X-CSRFToken": token})
    return answer.headers.getlist("Set-Cookie")


def _recovery_direct(world: PortalWorld, mode: str) -> Outcome:
    officer = PortalClient(world.app, world.accounts["officer-1"])
    judge = PortalClient(world.app, world.accounts["judge-1"])
    reference = _file(world, officer)
    _sign(world, judge, reference, _judge_key(world, "judge-1"))
    before = world.log.size
    casework = world.app.extensions["portal"].casework
    live = casework.memory.get(reference)
    terms = live.case.warrant
    own_key = X25519PrivateKey.generate()
    conversation = terms.targets[0]
    authorisation = authorise(terms, live.case.signatures, conversation, live.scoped,
                              own_key.public_key().public_bytes_raw())
    attempt = casework.custodians.open(warrant_window(terms, conversation), authorisation,
                                       own_key)
    report = attempt.recover()
    routes = [officer.post(f"/api/v1/officer/warrants/{reference}/recover").status_code,
              officer.get(f"/api/v1/officer/warrants/{reference}/recovered").status_code]
    return Outcome(
        "S12", mode, "recovery-direct",
        "recovery without custodians' releases opens nothing; there is no route around them",
        holds=report.messages_recovered == 0 and routes == [404, 409],
        metrics={"exposed_total": report.messages_recovered,
                 "recovery_success": report.messages_recovered > 0,
                 "detectable": "none"},
        details={"chains_reported": len(report.chains),
                 "chain_outcomes": report.outcome_counts(), "routes": routes,
                 "log_entries_added": world.log.size - before})


def _portal_files(world: PortalWorld) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(world.directory.rglob("*"))
                    if p.is_file() and HOLDERS not in p.relative_to(world.directory).parts)


def _forged_requests(world: PortalWorld, mode: str) -> Outcome:
    officer = PortalClient(world.app, world.accounts["officer-1"])
    judge = PortalClient(world.app, world.accounts["judge-1"])
    reference = _file(world, officer)
    _sign(world, judge, reference, _judge_key(world, "judge-1"))
    casework = world.app.extensions["portal"].casework
    custodians = casework.custodians
    live = casework.memory.get(reference)
    approval = live.case.receipt("approved")
    nonce = live.attempt.nonce
    forward = custodians.release
    passed: list[tuple[str, bytes, bytes]] = []
    custodians.release = lambda node, body, signature: (
        passed.append((node, body, signature)) or forward(node, body, signature))
    try:
        honest = _approve(world, reference, (1,))
    finally:
        del custodians.release
    before = {n: node.store.releases() for n, node in world.nodes.items()}
    log_before = world.log.size

    stolen: list = []

    def ask(node: str, body: bytes, signature: bytes) -> str:
        try:
            released = forward(node, body, signature)
        except NodeError as exc:
            return str(exc)
        stolen.extend(released)
        return f"released {len(released)}"

    own = Ed25519PrivateKey.generate()
    honest_node, honest_body, honest_signature = passed[0]
    bodies = {n: unsigned_request(n, live.authorisation, nonce, approval)
              for n in custodians.ids}
    answers = {
        "own_key": [ask(n, b, own.sign(b)) for n, b in bodies.items()],
        "replayed": [ask(honest_node, honest_body, honest_signature)],
        "signature_moved": [ask(n, b, honest_signature) for n, b in bodies.items()
                            if n != honest_node],
    }
    # in transit: a second operator signs their node's body, the insider swaps in its own
    # recovery key before forwarding
    terms = live.case.warrant
    mine = X25519PrivateKey.generate()
    altered_auth = authorise(terms, live.case.signatures, terms.targets[0], live.scoped,
                             mine.public_key().public_bytes_raw())
    altered: list[str] = []

    def alter(node, body, signature):
        changed = unsigned_request(node, altered_auth, nonce, approval)
        altered.append(ask(node, changed, signature))
        raise NodeError(altered[-1])

    custodians.release = alter
    try:
        second = _approve(world, reference, (2,))
    finally:
        del custodians.release
    answers["altered_in_transit"] = altered
    attempts = [a for tried in answers.values() for a in tried]
    accepted = sum(1 for a in attempts if a.startswith("released"))
    after = {n: node.store.releases() for n, node in world.nodes.items()}
    progress = live.attempt.progress().progress
    mine_released = [r for r in stolen if r.authorisation_digest == live.authorisation.digest]
    if mine_released:  # what the insider, holding the case's attempt and key, would open
        live.attempt.submit(nonce, mine_released)
    exposed = live.attempt.recover().messages_recovered if live.attempt.progress().complete \
        else 0
    at_rest = _portal_files(world)
    operator_keys = [load_key(p.read_bytes()) for p in world.operator_key_files.values()]
    keys_found = sum(1 for k in operator_keys if k.private_bytes_raw() in at_rest
                     or k.private_bytes_raw().hex().encode() in at_rest
                     or base64.b64encode(k.private_bytes_raw()) in at_rest)
    refusals = [e.entry.type for e in world.log.entries(log_before)].count("custodian.refused")
    unchanged = after == before and progress == 1
    return Outcome(
        "S12", mode, "forged-release-requests",
        "a portal whose process and database are the insider's holds no operator key and "
        "produces no request any node accepts: its own key, a replay, a moved signature "
        "and a body altered after signing are each refused and logged, nothing changes",
        holds=honest == [200] and second == [409] and accepted == 0 and unchanged
        and keys_found == 0 and refusals == len(attempts),
        metrics={"forged_accepted": accepted > 0, "exposed_total": exposed,
                 "detectable": "log" if refusals == len(attempts) else "none",
                 "state_unchanged": unchanged},
        details={"honest_release": honest, "second_operator_answer": second,
                 "requests_tried": len(attempts), "requests_accepted": accepted,
                 "shares_released_to_insider": len(stolen),
                 "refusals_logged": refusals, "attempt_progress": progress,
                 "operator_keys_in_portal_files": keys_found,
                 "portal_bytes_scanned": len(at_rest),
                 "answers": {k: [a[:80] for a in v] for k, v in answers.items()}})


def _edit_audit(world: PortalWorld, mode: str) -> list[Outcome]:
    officer = PortalClient(world.app, world.accounts["officer-1"])
    judge = PortalClient(world.app, world.accounts["judge-1"])
    reference = _file(world, officer)
    _sign(world, judge, reference, _judge_key(world, "judge-1"))
    _approve(world, reference, (1, 2, 3))
    officer.get(f"/api/v1/officer/warrants/{reference}/recovered")
    auditor = PortalClient(world.app, world.accounts["auditor-1"])
    assert_ok = auditor.post("/api/v1/auditor/verification").json["ok"]
    path = world.directory / "audit.db"
    log = world.log.log
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT idx, data FROM leaves ORDER BY idx").fetchall()
    viewed = next(i for i, data in rows if Entry.decode(data).type == "recovered.viewed")
    entry = Entry.decode(rows[viewed][1])
    edited = Entry(entry.type, "nobody", entry.time, entry.payload).encode()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE leaves SET data = ?, hash = ? WHERE idx = ?",
                   (edited, hash_leaf(edited), viewed))
    log.store.close()
    log.store = type(log.store)(path)
    in_place = auditor.post("/api/v1/auditor/verification").json
    # rewrite the whole tree without the entry, drop later checkpoints and the signed head
    leaves = [data for i, data in rows if i != viewed]
    rewrite_tree(path, leaves, drop_checkpoints_above=viewed)
    log.store.close()
    log.store = type(log.store)(path)
    rewritten = auditor.post("/api/v1/auditor/verification").json
    witnessed = max(w.size for w in _witness_sizes(world))
    return [
        Outcome("S12", mode, "edit-local-audit-in-place",
                "the auditor's offline verification fails on an edited entry",
                holds=assert_ok and not in_place["ok"],
                metrics={"detectable": "log", "state_unchanged": False},
                details={"verify_before": assert_ok, "verify_after": in_place}),
        Outcome("S12", mode, "edit-local-audit-rewritten",
                "a consistently rewritten, shorter log is caught by the witnesses, which "
                "cosigned a larger tree",
                holds=witnessed > len(leaves),
                metrics={"detectable": "witness" if witnessed > len(leaves) else "none"},
                details={"local_verify_after": rewritten, "log_size_after": len(leaves),
                         "witnessed_size": witnessed}),
    ]


def _witness_sizes(world: PortalWorld):
    quorum = world.log.log.quorum
    return [w.latest(world.log.log.origin) for w in quorum.witnesses]


@scenario("S12", "portal-insider", "a portal insider looks for secrets at rest, promotes "
          "themselves, forges a judge's and the operators' requests, recovers directly, "
          "edits the log",
          ("threshold",))
def run(params: Params, mode: str) -> list[Outcome]:
    """Every variant on one world, in an order where none undoes another's evidence: the
    secrets scan runs after the other variants' cases, the log edits last."""
    with tempfile.TemporaryDirectory(prefix="escrowlab-s12-") as folder:
        world = _world(Path(folder) / "world", params)
        try:
            out = [variant(world, mode) for variant in (
                _csrf_against_judge, _recovery_direct, _self_promotion, _forged_requests,
                _secrets_at_rest)]
            out.extend(_edit_audit(world, mode))
        finally:
            world.close()
    return out
