"""The browser fixture drives Debian's Chromium, and WebCrypto Ed25519 works on loopback.

The judges' signing page relies on both: a page served on
``http://127.0.0.1`` is a secure context, so ``crypto.subtle`` offers Ed25519.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PAGE = b"<!doctype html><title>webcrypto</title><p>ok</p>"


class _Page(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *_args):
        return


SIGN = """async (message) => {
  const pair = await crypto.subtle.generateKey({name: "Ed25519"}, false, ["sign", "verify"]);
  const data = new TextEncoder().encode(message);
  const signed = await crypto.subtle.sign({name: "Ed25519"}, pair.privateKey, data);
  const signature = new Uint8Array(signed);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return {secure: window.isSecureContext, signature: Array.from(signature), key: Array.from(raw)};
}"""


def test_webcrypto_ed25519_signature_verifies_in_python(page):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        result = page.evaluate(SIGN, "warrant hash")
    finally:
        server.shutdown()
        server.server_close()
    assert result["secure"] is True
    key = Ed25519PublicKey.from_public_bytes(bytes(result["key"]))
    key.verify(bytes(result["signature"]), b"warrant hash")
