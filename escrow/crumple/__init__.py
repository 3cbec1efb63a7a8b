"""The ``crumple`` escrow mode: crypto crumple zones (Wright and Varia, IEEE S&P 2018).

As ``threshold``, but what the custodians share is the chain key locked under a
k-bit puzzle (:mod:`.puzzle`), so every recovered chain costs up to 2^k trials
(:mod:`.solver`) even with all the custodians' cooperation. The hook is in
:mod:`.hook`, recovery in :mod:`.recovery`.
"""
