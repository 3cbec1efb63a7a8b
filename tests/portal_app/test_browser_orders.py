"""Detection orders through the real pages in Debian's Chromium (docs/detection_orders.md,
"In the portal"): the officer files an order with the form, the judge signs it with
WebCrypto Ed25519 from a key file (the portal never sees the key), and the officer's page
shows the signed order a scanning device accepts."""

from __future__ import annotations

import base64

import pytest

from authority_portal.warrants.detection import DetectionOrderVerifier
from escrowlab.portal.server import PortalServer
from tests.portal_app.test_browser_flow import Shots, _iso, _sign_in


@pytest.fixture
def served(world):
    server = PortalServer(world.app, threads=4)
    yield server.url
    server.stop()


def test_an_order_filed_in_the_form_signed_in_the_browser_and_collected(browser, world, served,
                                                                        tmp_path):
    shots = Shots(tmp_path / "screenshots")
    now = world.app.extensions["portal"].casework.clock.now()
    officer = browser.new_context().new_page()
    _sign_in(officer, served, world.accounts["officer-1"], shots, "officer")
    officer.goto(f"{served}/officer")
    officer.click("text=detection orders")
    form = "#file-order "
    officer.fill(form + "input[name=agency]", "Agency A")
    officer.fill(form + "input[name=jurisdiction]", "JA")
    officer.fill(form + "input[name=users]", "alice, bob")
    officer.fill(form + "input[name=window_start]", _iso(now))
    officer.fill(form + "input[name=window_end]", _iso(now + 86_400))
    officer.fill(form + "textarea[name=legal_basis]", "Article 7 (stand-in)")
    officer.click(form + "button[type=submit]")
    officer.wait_for_selector("#reference")
    reference = officer.inner_text("#reference")
    assert officer.inner_text("#status") == "filed"
    assert officer.locator("#signed-order").count() == 0
    shots(officer, "order-filed")

    judge = browser.new_context().new_page()
    _sign_in(judge, served, world.accounts["judge-1"], shots, "judge")
    judge.goto(f"{served}/judge/detection-orders")
    judge.click(f"text={reference}")
    judge.set_input_files("#key-file", str(world.judge_key_files["judge-1"]))
    judge.click("#sign-button")
    judge.wait_for_selector("#sign-status:has-text('signed')")
    assert "detection order" in judge.inner_text("#sign-status")
    assert judge.inner_text("#status") == "approved"
    shots(judge, "order-signed")

    officer.goto(f"{served}/officer/detection-orders/{reference}")
    signed = base64.b64decode(officer.inner_text("#signed-order"))
    shots(officer, "order-collected")
    casework = world.app.extensions["portal"].casework
    order = DetectionOrderVerifier(casework.judges, casework.particularity).verify(
        signed, now + 60)
    assert order.users == ("alice", "bob") and order.order_id == reference
