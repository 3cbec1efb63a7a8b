"""Sub-commands of the ``escrowlab`` console script, one module each."""
