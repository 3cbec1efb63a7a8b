"""Fuzz target of the relay over loopback HTTP: a real waitress server on 127.0.0.1.

Each input describes one HTTP request (method, path, extra headers, body, and how it
is signed: by a registered device after mutation, so it reaches the body parsers;
before mutation, so its signature no longer matches; or not at all). Seeds are the
requests real devices make: register, list devices, publish and fetch prekeys, send
envelopes of a live session, fetch, acknowledge and sync.

Every answer must be JSON: 2xx is accepted, 4xx refused, and a 5xx, a redirect or
a body that is not JSON is a crash. A refused request must store nothing: the
relay's SQLite database (read by a separate connection) must hold the same rows.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import sqlite3
from pathlib import Path

from escrowlab.fuzz.core import REFUSED, HarnessFailure, Target
from escrowlab.fuzz.mutate import Mutator, dump_json
from escrowlab.fuzz.seeds import World
from messaging.clock import ManualClock
from messaging.relay_protocol import RelayError, sign_request

METHODS = ("GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH")
PATHS = ("/v1/devices", "/v1/users/alice/devices", "/v1/users/bob/devices", "/v1/keys",
         "/v1/keys/bob:1", "/v1/keys/alice:1", "/v1/messages", "/v1/messages/ack",
         "/v1/messages/sync", "/v1/messages?limit=5", "/v1/devices/alice:2", "/healthz",
         "//v1/messages", "/v1//keys", "/v1/messages/", "/v1/keys/%ff", "/v1/users/%00/devices",
         "/v1/messages?limit=1e9", "/v1/messages?limit=%00", "/v1/messages?wait=1&wait=2",
         "/v1/messages?limit=\u0663", "/", "/v1", "/v1/", "/v2/messages", "/v1/keys/bob:1/x",
         "/v1/messages?limit=99999999999", "/v1/messages#x", "*")
FRAMING_HEADERS = ("content-length", "transfer-encoding", "connection", "expect")
SIGNINGS = ("after", "after", "after", "before", "none")


class _Relay:
    def __init__(self, world: World) -> None:
        from messaging.client import Device
        from messaging.relay import RelayService
        from messaging.relay.inprocess import InProcessTransport
        from messaging.relay.limits import RelayLimits
        from messaging.relay.server import ServerThread
        # the harness records every 5xx with its input; the server's tracebacks would only
        # flood stderr
        for name in ("escrowlab.relay", "waitress"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        self.clock = ManualClock(1_767_261_600.0)
        self.path = Path(world.tmp.name) / "relay.db"
        self.service = RelayService(f"sqlite:///{self.path}", clock=self.clock,
                                    limits=RelayLimits(max_poll_wait=0.05))
        self.server = ServerThread(self.service)
        transport = InProcessTransport(self.service)
        self.alice = Device.create("alice", 1, transport, clock=self.clock, one_time_prekeys=4,
                                   kem_prekeys=2)
        self.bob = Device.create("bob", 1, transport, clock=self.clock, one_time_prekeys=4,
                                 kem_prekeys=2)
        self.devices = {"alice:1": self.alice, "bob:1": self.bob}
        host, port = self.server.url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=10)
        self.reader = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                      isolation_level=None)
        self._version = None
        self._digest = b""
        self.seeds = [json.dumps(r).encode() for r in self._seed_requests()]

    def _seed_requests(self) -> list[dict]:
        from messaging.identity import IdentityKeyPair
        envelopes = [self.alice._encrypt("dm:alice:bob", "bob:1", b'{"v":1}').hex()
                     for _ in range(2)]
        upload = self.bob._prekeys.upload().to_json()
        upload["one_time_prekeys"] = upload["one_time_prekeys"][:2]
        upload["kem_prekeys"] = upload["kem_prekeys"][:1]
        newcomer = IdentityKeyPair.generate()
        requests = [
            {"method": "POST", "path": "/v1/messages", "as": "alice:1",
             "body": {"envelopes": envelopes, "require_complete": False}},
            {"method": "GET", "path": "/v1/messages?limit=10", "as": "bob:1"},
            {"method": "POST", "path": "/v1/messages/ack", "as": "bob:1", "body": {"ids": [1, 2]}},
            {"method": "POST", "path": "/v1/messages/sync", "as": "bob:1",
             "body": {"ack": [3], "limit": 10, "wait": 0}},
            {"method": "GET", "path": "/v1/keys/bob:1", "as": "alice:1"},
            {"method": "GET", "path": "/v1/keys", "as": "bob:1"},
            {"method": "PUT", "path": "/v1/keys", "as": "bob:1", "body": upload},
            {"method": "GET", "path": "/v1/users/bob/devices", "as": "alice:1"},
            {"method": "DELETE", "path": "/v1/devices/bob:7", "as": "bob:1"},
            {"method": "POST", "path": "/v1/devices", "as": "carol:1", "key": "new",
             "body": {"identity": newcomer.public.encode().hex(), "link": None}},
        ]
        self.newcomer = newcomer
        return requests

    # -- one request --------------------------------------------------------------------

    def run(self, data: bytes):
        try:
            spec = json.loads(data)
        except (ValueError, RecursionError):
            spec = {"method": "POST", "path": "/v1/messages", "as": "alice:1",
                    "raw": data.hex()}
        if not isinstance(spec, dict):
            spec = {"method": "GET", "path": "/v1/messages", "raw": data.hex()}
        method = _text(spec.get("method"), "GET")
        path = _text(spec.get("path"), "/v1/messages")
        body = self._body(spec)
        headers = {"Content-Type": "application/json"} if body else {}
        address = _text(spec.get("as"), "alice:1")
        device = self.devices.get(address)
        key = self.newcomer if spec.get("key") == "new" else (device.identity if device else None)
        signing = spec.get("sign", "after")
        if key is not None and signing in ("after", "before"):
            signed_body = body if signing == "after" else body + b" "
            headers.update(sign_request(key, address, method, path, signed_body,
                                        self.clock.now()))
        extra = spec.get("headers")
        if isinstance(extra, dict):
            headers.update({_header(k): _header(v) for k, v in list(extra.items())[:8]
                            if _header(k).lower() not in FRAMING_HEADERS})
        return self._send(method, path, headers, body)

    def _body(self, spec: dict) -> bytes:
        if isinstance(spec.get("raw"), str):
            try:
                return bytes.fromhex(spec["raw"])
            except ValueError:
                return spec["raw"].encode("utf-8", "surrogatepass")
        if "body" not in spec:
            return b""
        try:
            return dump_json(spec["body"]).encode("utf-8", "surrogatepass")
        except TypeError:
            return b""

    def _send(self, method: str, path: str, headers: dict, body: bytes):
        try:
            self.conn.request(method, path, body=body or None, headers=headers)
            response = self.conn.getresponse()
            payload = response.read()
        except BaseException as exc:
            self.conn.close()  # a half-read answer must not poison the next request
            if not isinstance(exc, Exception):
                raise
            return self._failed(exc)
        return self._check(method, path, response, payload)

    def _failed(self, exc: Exception):
        if isinstance(exc, UnicodeError | ValueError):
            return REFUSED  # http.client itself will not send this request (InvalidURL...)
        if isinstance(exc, OSError | http.client.HTTPException):
            raise HarnessFailure(f"the relay dropped the connection: {exc!r}") from None
        raise exc

    def _check(self, method: str, path: str, response, payload: bytes):
        status = response.status
        kind = response.getheader("Content-Type", "")
        media = kind.split(";")[0] or "no Content-Type"
        route = path.split("?")[0][:40]
        where = f"for {method} {path[:60]}: {payload[:160]!r}"
        if status >= 500:
            raise HarnessFailure(f"HTTP {status} {where}", f"HTTP {status} on {method} {route}")
        if 300 <= status < 400:
            raise HarnessFailure(f"HTTP {status} redirect {where}", f"HTTP {status} redirect")
        if method != "HEAD":
            try:
                answer = json.loads(payload)
            except ValueError:
                answer = None
            if not isinstance(answer, dict):
                raise HarnessFailure(f"HTTP {status} answer is not a JSON object ({media}) "
                                     f"{where}", f"HTTP {status} not JSON ({media}) on {method}")
        if media != "application/json":
            raise HarnessFailure(f"HTTP {status} answer has Content-Type {kind!r} {where}",
                                 f"HTTP {status} {media} on {method}")
        if status >= 400:
            return REFUSED
        return None

    # -- state ----------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        version = self.reader.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:
            self._version = version
            digest = hashlib.sha256()
            tables = [r[0] for r in self.reader.execute(
                "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
            for table in tables:
                digest.update(table.encode() + b"\x00")
                for row in self.reader.execute(f'SELECT * FROM "{table}" ORDER BY 1'):
                    digest.update(repr(row).encode())
            self._digest = digest.digest()
        return self._digest

    def mutate(self, m: Mutator) -> bytes:
        rng = m.rng
        seed = json.loads(rng.choice(self.seeds))
        op = rng.randrange(8)
        if op <= 2 and "body" in seed:
            seed["body"] = _Mutated(m.json_bytes(seed["body"]))
        elif op == 3:
            seed["method"] = rng.choice(METHODS)
        elif op == 4:
            seed["path"] = rng.choice(PATHS)
        elif op == 5:
            seed["sign"] = rng.choice(SIGNINGS)
        elif op == 6:
            # framing headers (Content-Length, Transfer-Encoding) are left to waitress: a
            # wrong length only makes the server wait for bytes that never come
            seed["headers"] = {rng.choice(("Host", "X-Relay-Timestamp", "X-Relay-Nonce",
                                           "X-Relay-Address", "Content-Type", "Accept",
                                           "X-Relay-Signature", "Origin")):
                               rng.choice(("", "0", "999999999999999", "\u00e9", "a" * 100,
                                           "text/html", "bob:1", "chunked", "x" * 81))}
        else:
            body = seed.get("body")
            raw = dump_json(body).encode() if body is not None else b""
            seed["raw"] = m.havoc(raw).hex()
        return _encode_spec(seed)

    def close(self) -> None:
        self.conn.close()
        self.reader.close()
        self.server.stop()


class _Mutated:
    """A mutated JSON body kept as its bytes (it may not be valid JSON any more)."""

    def __init__(self, data: bytes) -> None:
        self.data = data


def _encode_spec(spec: dict) -> bytes:
    body = spec.pop("body", None)
    if isinstance(body, _Mutated):
        spec["raw"] = body.data.hex()
    elif body is not None:
        spec["body"] = body
    return json.dumps(spec).encode()


def _text(value: object, default: str) -> str:
    return value if isinstance(value, str) and value else default


def _header(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace("\r", "").replace("\n", "")[:200]


def relay_target(world: World) -> Target:
    relay = _Relay(world)
    return Target("relay.http", "the relay over loopback HTTP (waitress): mutated signed and "
                  "unsigned requests; every answer JSON, never 5xx; nothing stored for a refused "
                  "request", (RelayError,), relay.seeds, relay.run, relay.mutate, weight=1,
                  snapshot=relay.snapshot, close=relay.close)




class _StubRelay:
    """A loopback HTTP server that answers every request with the current input: what a
    malicious or broken relay can send a device's :class:`~messaging.transport.RelayClient`
    (through the real :class:`~messaging.transport.HttpTransport`)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        stub = self
        self.status, self.body = 200, b"{}"
        self.content_type = "application/json"
        self.headers: dict[str, str] = {}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # one segment per answer, sent at once: no Nagle / delayed-ACK stall per request
            wbufsize = -1
            disable_nagle_algorithm = True

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(stub.status)
                self.send_header("Content-Type", stub.content_type)
                for name, value in stub.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(stub.body)))
                self.end_headers()
                self.wfile.write(stub.body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


ANSWER_STATUSES = (200, 200, 200, 400, 409, 500)


class _Client:
    """A device's RelayClient over HTTP against the stub; input byte 0 picks the call and
    the status, the rest is the answer's body."""

    def __init__(self, world: World) -> None:
        from messaging.identity import IdentityKeyPair
        from messaging.transport import HttpTransport, RelayClient
        self.stub = _StubRelay()
        self.transport = HttpTransport(self.stub.url, timeout=10)
        mw = next(iter(world.modes.values()))
        device = next(iter(mw.devices.values()))
        self.client = RelayClient(self.transport, "alice:1", IdentityKeyPair.generate(),
                                  ManualClock(1_767_261_600.0))
        upload = device._prekeys.upload()
        bundle = upload.bundle(upload.one_time_prekeys[0], upload.kem_prekeys[0]).to_json()
        entry = mw.entries[0]
        fetched = {"messages": [{"id": 7, "envelope": entry.envelope.hex(),
                                 "received_at": entry.received_at}], "more": False}
        identity = device.identity.public.encode().hex()
        self.calls = [
            ("devices", lambda c: c.devices("bob"),
             {"devices": [{"address": "bob:1", "identity": identity}]}),
            ("fetch", lambda c: c.fetch(10), fetched),
            ("sync", lambda c: c.sync([1], 10), fetched),
            ("fetch_bundle", lambda c: c.fetch_bundle("bob:1"), bundle),
            ("send", lambda c: c.send([entry.envelope]), {"accepted": [1, 2]}),
            ("ack", lambda c: c.ack([1, 2]), {"acknowledged": 2}),
            ("prekey_counts", lambda c: c.prekey_counts(), {"one_time": 3, "kem_one_time": 2}),
            ("error", lambda c: c.ack([1]),
             {"error": "device-list-mismatch", "message": "x", "devices": {"bob": ["bob:1"]}}),
        ]
        self.seeds = [bytes((i,)) + json.dumps(answer).encode()
                      for i, (_, _, answer) in enumerate(self.calls)]

    def run(self, data: bytes) -> None:
        if not data:
            data = b"\x00"
        _, call, _ = self.calls[data[0] % len(self.calls)]
        self.stub.status = ANSWER_STATUSES[data[0] // len(self.calls) % len(ANSWER_STATUSES)]
        self.stub.body = data[1:]
        call(self.client)

    def mutate(self, m: Mutator) -> bytes:
        i = m.rng.randrange(len(self.calls))
        status = m.rng.randrange(len(ANSWER_STATUSES)) if m.rng.random() < 0.2 else 0
        answer = self.calls[i][2]
        body = m.json_bytes(answer) if m.rng.random() < 0.85 else m.havoc(
            json.dumps(answer).encode())
        return bytes(((status * len(self.calls) + i) % 256,)) + body

    def close(self) -> None:
        self.transport.close()
        self.stub.close()


def client_target(world: World) -> Target:
    from messaging.errors import MessagingError
    client = _Client(world)
    return Target("messaging.relay_answer", "a device's RelayClient (over the real HttpTransport) "
                  "parsing what a malicious relay answers to each call", (MessagingError,),
                  client.seeds, client.run, client.mutate, weight=1, close=client.close)


WITNESS_ANSWERS = ((200, {}), (409, {}), (400, {"X-Witness-Error": "rollback"}), (422, {}),
                   (403, {}), (500, {}))


class _WitnessClient:
    """The log's HttpWitness against a loopback stub answering with the input: byte 0 picks
    the status (and, for a rollback, the header carrying the latest size), the rest is the
    body (also the latest-size header's value)."""

    def __init__(self, world: World) -> None:
        from audit.http.witness_client import HttpWitness
        audit = world.audit
        self.stub = _StubRelay()
        self.stub.content_type = "text/plain; charset=utf-8"
        signer = audit.witness_signers[0]
        self.witness = HttpWitness(self.stub.url, signer.verifier, timeout=10)
        self.note = audit.notes[-1]
        from audit.note import parse_note
        line = signer.sign(parse_note(self.note).text).line()
        self.seeds = [b"\x00" + line.encode(), b"\x01" + b"3\n", b"\x02" + b"6",
                      b"\x03" + b"inconsistent\n", b"\x04" + b"unknown log\n"]

    def run(self, data: bytes) -> None:
        if not data:
            data = b"\x00"
        status, headers = WITNESS_ANSWERS[data[0] % len(WITNESS_ANSWERS)]
        self.stub.status = status
        self.stub.body = data[1:]
        value = data[1:80].decode("latin-1").replace("\r", "").replace("\n", "")
        self.stub.headers = {**headers, "X-Witness-Latest-Size": value} if headers else {}
        self.witness.add_checkpoint(3, [], self.note)

    def mutate(self, m: Mutator) -> bytes:
        seeds = self.seeds
        if m.rng.random() < 0.5:
            seed = m.rng.choice(seeds)
            return seed[:1] + m.text_lines(seed[1:].decode("utf-8", "replace"), seeds)
        return m.havoc(m.rng.choice(seeds), seeds)

    def close(self) -> None:
        self.stub.close()


def witness_client_target(world: World) -> Target:
    from audit.errors import AuditError
    client = _WitnessClient(world)
    return Target("audit.witness_answer", "the log's HttpWitness parsing what a witness answers "
                  "(cosignature line, 409 size, rollback headers), from a loopback stub",
                  (AuditError,), client.seeds, client.run, client.mutate, weight=0.5,
                  close=client.close)


def targets(world: World) -> dict:
    return {"relay.http": lambda: relay_target(world),
            "messaging.relay_answer": lambda: client_target(world),
            "audit.witness_answer": lambda: witness_client_target(world)}
