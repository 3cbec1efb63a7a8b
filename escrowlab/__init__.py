"""escrowlab: the command line, the narrated demo, the attack scenarios and benchmarks.

This package sits at the top of the import graph (see docs/architecture.md): it may import
``messaging``, ``audit``, ``escrow`` and ``authority_portal``; nothing imports it.
"""

__version__ = "0.1.0"
