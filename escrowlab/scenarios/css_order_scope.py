"""S35 css-order-scope (docs/scenarios.md; docs/css.md, "The device's hook and detection
orders"; docs/detection_orders.md).

One detection order of images-only scope, signed by the world's judge and accepted by the
devices it names, covers Alice, Carol, Erin, Frank and Gina from one hour after it is
issued for one day, at database version 1. Each user then sends Dave the t listed stand-in
images (t = :data:`THRESHOLD`), so that every image that is scanned reaches the provider's
threshold and is reported (its visual derivative opened); Gina sends t texts instead, each
of which the world's text detector (trained once on synthetic chats) flags on its own:

- ``in scope``: Alice, inside the window (the control);
- ``user not named``: Bob, inside the window, under no order;
- ``before the window`` and ``after the window``: Carol before it starts, Erin after it ends;
- ``other database version``: Frank, inside the window, with a device that holds the
  provider's table of version 2 (same secret, the same hashes);
- ``text under an images-only order``: Gina, named, inside the window, at the version, but
  the order does not authorise text detection (docs/css.md, "Text under an order").

Two builds of the content hook are measured through the real client, relay and matcher
(:mod:`escrowlab.css.world`): the ``honest`` one (:class:`escrow.css.hook.CssContentHook`)
and a ``modified provider build`` that ignores orders (:class:`IgnoresOrders`: it scans every
image and text as if an order covered it). Measured per case: images and texts scanned
(the hook's record of its scans) and derivatives reported (opened by the matcher) outside
the order's scope, ``exposed_out_of_scope``; inside it, ``exposed_total``. Pinned: the
honest build scans and reports nothing outside the order and everything inside it; the
modified build scans and reports every out-of-scope image and text, and nobody but the
device itself can see the difference: a cover voucher and a scanned one have the same size
(``voucher_sizes``, over the whole archive) and only the provider can open either, so
``detectable`` is ``none``.
"""

from __future__ import annotations

from escrow.css import database, psi
from escrow.css.chats import generate_chats
from escrow.css.hook import CssContentHook
from escrow.css.orders import IMAGES, TEXT, DetectionOrder
from escrow.css.text import TextDetector
from escrowlab.css.world import DAY, CssWorld, build
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario

THRESHOLD = 3
HOUR = 3600.0
CASES = {"in scope": "alice", "user not named": "bob", "before the window": "carol",
         "after the window": "erin", "other database version": "frank",
         "text under an images-only order": "gina"}
NAMED = ("alice", "carol", "erin", "frank", "gina")
TEXTS = ("keep our chats secret", "lets switch to a private app",
         "we should meet alone some time")  # stand-in patterns (docs/css_text.md)
TRAINING_CHATS = 300


class IgnoresOrders(CssContentHook):
    """A modified provider build of the hook: every image and text is scanned, as if an order
    covered the user at every time and version, for both."""

    def __init__(self, honest: CssContentHook) -> None:
        self.__dict__.update(honest.__dict__)

    def covering(self, time: float, content: str = IMAGES) -> DetectionOrder | None:
        return DetectionOrder("provider-build", (self.user,), 0.0, time + 1.0,
                              self.client.table.version, (IMAGES, TEXT))


def _second_version(world: CssWorld) -> psi.BlindedTable:
    """The provider's table of database version 2: the same hashes under the same secret."""
    current = world.provider.database
    lists = {supplier: current.hashes for supplier in current.suppliers}
    return psi.build_table(database.build(2, lists), world.provider.secret)


def run_build(build_name: str, seed: int) -> dict[str, dict]:
    """Every case for one build of the hook; per case what was sent, scanned and reported."""
    detector = TextDetector.train(generate_chats(TRAINING_CHATS, 0.5, seed), seed)
    world = build(("dave", *CASES.values()), listed=THRESHOLD, innocent=0,
                  voucher_threshold=THRESHOLD, seed=seed, text_detector=detector)
    start = world.clock.now() + HOUR
    encoded = world.order(NAMED, start, start + DAY)
    frank = world.hooks["frank"]
    frank.client = world.deployment.client(_second_version(world))
    for user in CASES.values():
        hook = world.hooks[user]
        if user in NAMED:
            hook.accept_order(encoded)
        if build_name != "honest":
            world.devices[user].content_hook = IgnoresOrders(hook)
    at = {"before the window": start - HOUR / 2, "after the window": start + DAY + HOUR}
    results = {}
    for case in sorted(CASES, key=lambda c: at.get(c, start + HOUR)):
        user = CASES[case]
        world.clock.set(max(world.clock.now(), at.get(case, start + HOUR)))
        if user == CASES["text under an images-only order"]:
            for text in TEXTS:
                world.send_text(user, "dave", text)
            sent = len(TEXTS)
        else:
            for _, image in world.listed:
                world.send_image(user, "dave", image)
            sent = len(world.listed)
        results[case] = {"user": user, "sent": sent}
    delivered = world.receive("dave")
    world.collect()
    sizes = sorted({len(e.voucher) for e in world.relay.archive.entries() if e.voucher})
    for case, line in results.items():
        user = line["user"]
        view = world.provider.matcher.view(user)
        hook = world.devices[user].content_hook
        line.update(scanned=len(hook.scans) + len(hook.text_scans),
                    reported=len(view.derivatives), vouchers=view.received,
                    delivered=sum(m.sender_user == user for m in delivered),
                    in_scope=case == "in scope", voucher_sizes=sizes)
    return results


@scenario("S35", "css-order-scope",
          "messages scanned or reported outside a detection order's users, window, "
          "database version or scope", ("css",))
def css_order_scope(params: Params, mode: str) -> list[Outcome]:
    outcomes = []
    for build_name in ("honest", "modified provider build"):
        for case, line in run_build(build_name, params.seed).items():
            if line["in_scope"]:
                expected = "every image scanned and reported (the control)"
                holds = line["scanned"] == line["reported"] == line["sent"]
            elif build_name == "honest":
                expected = "0 scanned, 0 reported outside the order"
                holds = line["scanned"] == line["reported"] == 0
            else:
                expected = "every out-of-scope image or text scanned and reported, seen by nobody"
                holds = line["scanned"] == line["reported"] == line["sent"]
            out_of_scope = 0 if line["in_scope"] else line["reported"]
            outcomes.append(Outcome(
                "S35", mode, f"{build_name}/{case}", expected, holds,
                metrics={"exposed_total": line["reported"],
                         "exposed_out_of_scope": out_of_scope, "detectable": "none"},
                details={**line, "threshold": THRESHOLD, "order_users": list(NAMED),
                         "order_database_version": 1,
                         "scanned_out_of_scope": 0 if line["in_scope"] else line["scanned"]}))
    return outcomes
