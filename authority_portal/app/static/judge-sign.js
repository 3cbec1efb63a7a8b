// The judge's signature, made in this browser (docs/portal.md, "Signing in the browser").
// The private key is read from the judge's own file, imported as a non-extractable
// WebCrypto Ed25519 key (webcrypto-key.js), and used once to sign the statement the portal
// serves; only the 64-byte signature is sent back. No inline script: the page's CSP
// forbids it.
"use strict";

(function () {
  const section = document.getElementById("sign");
  if (!section) { return; }
  const keys = window.escrowlabKeys;
  const status = document.getElementById("sign-status");
  const token = document.querySelector('meta[name="csrf-token"]').content;

  async function sign() {
    const file = document.getElementById("key-file").files[0];
    if (!file) { status.textContent = "choose your key file first"; return; }
    status.textContent = "signing in this browser...";
    const key = await keys.importKey(await file.text());
    const answer = await fetch(section.dataset.statement, { credentials: "same-origin" });
    if (!answer.ok) { throw new Error((await answer.json()).error); }
    const statement = keys.fromBase64((await answer.json()).statement);
    const signature = await crypto.subtle.sign({ name: "Ed25519" }, key, statement);
    const sent = await fetch(section.dataset.signature, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ signature: keys.toBase64(signature) }),
    });
    const result = await sent.json();
    if (!sent.ok) { throw new Error(result.error); }
    const kind = section.dataset.kind;
    status.textContent = "signed: " + kind + " " + result.reference + " is " + result.status;
    document.getElementById("status").textContent = result.status;
  }

  document.getElementById("sign-button").addEventListener("click", function () {
    sign().catch(function (error) { status.textContent = "refused: " + error.message; });
  });
}());
