"""Client-side scanning wired to the audit log (docs/css_matcher.md, "Published roots").

``escrow.css`` builds the blinded table and ``audit`` keeps the witnessed log; neither
imports the other, so :mod:`escrowlab.css.publish` puts each table version's Merkle root
in the log and checks, on the device, that the table it holds is the published one.
"""
