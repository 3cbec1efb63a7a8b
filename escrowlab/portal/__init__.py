"""Everything around the warrant portal that is not the portal itself: a world to serve
(:mod:`escrowlab.portal.world`) for ``escrowlab portal``, the tests, scenario S12 and the
benchmark."""
