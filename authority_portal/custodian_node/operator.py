"""A custodian node's operator: the one party whose release requests the node accepts
(docs/custodian_node.md, "The operator signs, not the portal").

The operator's Ed25519 private key lives with the operator (a file they hold, read here or
by the operator's browser), never in the portal. :class:`Operator` is that key and the node
it is registered at; :meth:`Operator.sign` takes the exact bytes the portal asks the
operator to sign, parses them strictly as an unsigned release request
(:func:`~authority_portal.custodian_node.request.parse_body`), refuses one addressed to
another node, and returns the 64-byte signature the portal attaches.

Key files are what the browser's WebCrypto imports too: PKCS#8 (PEM or DER) or a JWK of an
Ed25519 private key (RFC 8037: ``{"kty": "OKP", "crv": "Ed25519", "d": ..., "x": ...}``).
"""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import strictjson
from authority_portal.custodian_node.errors import RequestError
from authority_portal.custodian_node.request import ReleaseRequest, parse_body

MAX_KEY_FILE = 16 << 10


def load_key(data: bytes) -> Ed25519PrivateKey:
    """An operator's Ed25519 private key from a key file's bytes (module docstring)."""
    if len(data) > MAX_KEY_FILE:
        raise RequestError("an operator key file is at most 16 KiB")
    text = data.strip()
    if text.startswith(b"{"):
        return _from_jwk(text)
    try:
        key = serialization.load_pem_private_key(text, None) if text.startswith(b"-----") \
            else serialization.load_der_private_key(data, None)
    except (ValueError, TypeError):
        raise RequestError("an operator key file is unencrypted PKCS#8 (PEM or DER) or a "
                           "JWK") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise RequestError("an operator key is an Ed25519 key")
    return key


def _from_jwk(text: bytes) -> Ed25519PrivateKey:
    jwk = strictjson.loads(text, what="operator JWK", error=RequestError)
    strictjson.fields(jwk, {"kty": str, "crv": str, "d": str},
                      {"x": str, "key_ops": list, "ext": bool, "alg": str, "kid": str},
                      what="operator JWK", error=RequestError)
    if (jwk["kty"], jwk["crv"]) != ("OKP", "Ed25519"):
        raise RequestError("an operator JWK is an OKP key on Ed25519")
    try:
        raw = base64.urlsafe_b64decode(jwk["d"] + "=" * (-len(jwk["d"]) % 4))
    except (binascii.Error, ValueError):
        raise RequestError("the JWK's d is base64url") from None
    if len(raw) != 32:
        raise RequestError("the JWK's d is a 32-byte Ed25519 private key")
    key = Ed25519PrivateKey.from_private_bytes(raw)
    if "x" in jwk and _b64url(key.public_key().public_bytes_raw()) != jwk["x"].rstrip("="):
        raise RequestError("the JWK's x is not the public key of its d")
    return key


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def key_file(key: Ed25519PrivateKey) -> bytes:
    """``key`` as an unencrypted PKCS#8 PEM file (what :func:`load_key` and the browser
    read)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Operator:
    """The operator of node ``node`` with their own private ``key`` (module docstring)."""

    def __init__(self, node: str, key: Ed25519PrivateKey) -> None:
        if not isinstance(key, Ed25519PrivateKey):
            raise RequestError("an operator key is an Ed25519 private key")
        self.node = node
        self._key = key

    def __repr__(self) -> str:
        return f"Operator({self.node})"

    @property
    def public_key(self) -> bytes:
        """The 32-byte public key to register at the node."""
        return self._key.public_key().public_bytes_raw()

    def read(self, body: bytes) -> ReleaseRequest:
        """What ``body`` asks for, parsed strictly; refused unless addressed to this node."""
        request = parse_body(body)
        if request.node != self.node:
            raise RequestError(f"the request is addressed to {request.node!r}, not to "
                               f"{self.node}")
        return request

    def sign(self, body: bytes) -> bytes:
        """The operator's signature over exactly ``body``, after :meth:`read`."""
        self.read(body)
        return self._key.sign(body)
