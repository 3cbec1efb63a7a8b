// The judge's signature, made in this browser (docs/portal.md, "Signing in the browser").
// The private key is read from the judge's own file, imported as a non-extractable
// WebCrypto Ed25519 key, and used once to sign the statement the portal serves; only
// the 64-byte signature is sent back. No inline script: the page's CSP forbids it.
"use strict";

(function () {
  const section = document.getElementById("sign");
  if (!section) { return; }
  const status = document.getElementById("sign-status");
  const token = document.querySelector('meta[name="csrf-token"]').content;

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

  async function sign() {
    const file = document.getElementById("key-file").files[0];
    if (!file) { status.textContent = "choose your key file first"; return; }
    status.textContent = "signing in this browser...";
    const key = await importKey(await file.text());
    const answer = await fetch(section.dataset.statement, { credentials: "same-origin" });
    if (!answer.ok) { throw new Error((await answer.json()).error); }
    const statement = fromBase64((await answer.json()).statement);
    const signature = await crypto.subtle.sign({ name: "Ed25519" }, key, statement);
    const sent = await fetch(section.dataset.signature, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ signature: toBase64(signature) }),
    });
    const result = await sent.json();
    if (!sent.ok) { throw new Error(result.error); }
    status.textContent = "signed: warrant " + result.reference + " is " + result.status;
    document.getElementById("status").textContent = result.status;
  }

  document.getElementById("sign-button").addEventListener("click", function () {
    sign().catch(function (error) { status.textContent = "refused: " + error.message; });
  });
}());
