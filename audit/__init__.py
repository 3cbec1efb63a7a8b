"""The append-only transparency log: RFC 9162 Merkle tree, signed checkpoints, witnesses.

Imports nothing else of escrowlab's (DESIGN.md, "Layout").
"""
