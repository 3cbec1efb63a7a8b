"""Key transparency wired into the messenger (docs/key_transparency.md, docs/ghost.md).

``messaging`` defines the two sides of the provider-capability extension point
(:mod:`messaging.relay.directory`, :mod:`messaging.directory`) and ``audit`` the directory
and its proofs (:mod:`audit.kt`); neither imports the other, so the wiring lives here:

- :mod:`escrowlab.keytrans.wiring` the relay's publisher (every device list the relay will
  serve goes into the directory) and the client's verifier (every list a client is served
  must be the one the directory proves, under a witnessed checkpoint);
- :mod:`escrowlab.keytrans.owner` the owner's watch over its own account: the devices it
  approved, its key-transparency self-monitor, and the device-list notices of its devices;
- :mod:`escrowlab.keytrans.world` a relay, a witnessed directory log and verifying devices,
  as the ghost demo, the scenarios and the benchmark build them.
"""
