// The custodian operator's signature over their node's release request, made in this
// browser (docs/portal.md, "Signing in the browser"). The request's bytes are fetched
// from the portal and signed only if they are exactly the text shown on the page; the key
// is read from the operator's own file as a non-extractable WebCrypto Ed25519 key
// (webcrypto-key.js). Only the 64-byte signature goes back; the portal attaches it to the
// request and forwards it to the node, which checks it against its operator's key.
"use strict";

(function () {
  const section = document.getElementById("release");
  if (!section) { return; }
  const keys = window.escrowlabKeys;
  const status = document.getElementById("sign-status");
  const token = document.querySelector('meta[name="csrf-token"]').content;

  function same(a, b) {
    if (a.length !== b.length) { return false; }
    for (let i = 0; i < a.length; i++) { if (a[i] !== b[i]) { return false; } }
    return true;
  }

  async function sign() {
    const file = document.getElementById("key-file").files[0];
    if (!file) { status.textContent = "choose your key file first"; return; }
    status.textContent = "signing in this browser...";
    const key = await keys.importKey(await file.text());
    const answer = await fetch(section.dataset.request, { credentials: "same-origin" });
    if (!answer.ok) { throw new Error((await answer.json()).error); }
    const body = keys.fromBase64((await answer.json()).request);
    const shown = new TextEncoder().encode(document.getElementById("request-body").textContent);
    if (!same(body, shown)) {
      throw new Error("the request served is not the one shown on this page: reload it");
    }
    const signature = await crypto.subtle.sign({ name: "Ed25519" }, key, body);
    const sent = await fetch(section.dataset.approval, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ signature: keys.toBase64(signature) }),
    });
    const result = await sent.json();
    if (!sent.ok) { throw new Error(result.error); }
    status.textContent = "released: " + result.progress + " of " + result.required +
      " custodians, warrant " + result.warrant + " is " + result.status;
    document.getElementById("status").textContent = result.status;
  }

  document.getElementById("sign-button").addEventListener("click", function () {
    sign().catch(function (error) { status.textContent = "refused: " + error.message; });
  });
}());
