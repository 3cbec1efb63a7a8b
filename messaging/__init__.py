"""The end-to-end-encrypted messaging core: identities, PQXDH, the Double Ratchet,
the wire format, sessions and their stores, safety numbers, and the relay.

Imports nothing else of escrowlab's (docs/architecture.md, "Layout"). Escrow reaches the
ratchet only through :mod:`messaging.hooks`.
"""
