// What the judge's and the operator's pages share (docs/portal.md, "Signing in the
// browser"): base64 both ways, and a private Ed25519 key read from the holder's own file
// (PKCS#8 PEM or JWK) and imported as a non-extractable WebCrypto key that can only sign.
"use strict";

window.escrowlabKeys = (function () {
  function fromBase64(text) {
    const raw = atob(text);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  function toBase64(bytes) {
    let raw = "";
    for (const b of new Uint8Array(bytes)) { raw += String.fromCharCode(b); }
    return btoa(raw);
  }

  async function importKey(text) {
    const algorithm = { name: "Ed25519" };
    const trimmed = text.trim();
    if (trimmed.startsWith("{")) {
      return crypto.subtle.importKey("jwk", JSON.parse(trimmed), algorithm, false, ["sign"]);
    }
    const body = trimmed.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "").replace(/\s+/g, "");
    return crypto.subtle.importKey("pkcs8", fromBase64(body), algorithm, false, ["sign"]);
  }

  return { fromBase64: fromBase64, toBase64: toBase64, importKey: importKey };
}());
