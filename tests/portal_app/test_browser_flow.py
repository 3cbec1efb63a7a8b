"""The whole flow through the real pages in Debian's Chromium, CSRF on (docs/portal.md,
"Signing in the browser"): the officer files, the judge signs with WebCrypto Ed25519 from
a key file (the portal never sees the key), three of five custodian operators each sign
their node's release request the same way (the first one tries another operator's key
first, which their node refuses, changing nothing), the officer opens the recovered view,
the auditor verifies the log. A screenshot of each page is saved under the test's
temporary folder."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp
import pytest

from escrowlab.portal.server import PortalServer


@pytest.fixture
def served(world):
    server = PortalServer(world.app, threads=4)
    yield server.url
    server.stop()


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S")


class Shots:
    def __init__(self, directory):
        self.directory = directory
        self.directory.mkdir()
        self.taken = []

    def __call__(self, page, name):
        path = self.directory / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)


def _sign_in(page, url, account, shots, name):
    page.goto(f"{url}/login")
    page.fill("input[name=email]", account.email)
    page.fill("input[name=password]", account.password)
    page.click("input[type=submit][name=submit]")
    if account.totp:
        page.wait_for_selector("input[name=code]")
        shots(page, f"{name}-totp")
        page.fill("input[name=code]", pyotp.TOTP(account.totp).now())
        page.click("input[type=submit][name=submit]")
    page.wait_for_selector("text=Your roles")
    shots(page, f"{name}-home")


def test_officer_judge_three_operators_recovered_view_and_auditor_in_chromium(
        browser, world, served, tmp_path):
    shots = Shots(tmp_path / "screenshots")
    accounts = world.accounts
    start, end = world.archive_times

    officer = browser.new_context().new_page()
    _sign_in(officer, served, accounts["officer-1"], shots, "officer")
    officer.goto(f"{served}/officer")
    form = "#file-warrant "
    officer.fill(form + "input[name=agency]", "Metropolitan Police")
    officer.fill(form + "input[name=jurisdiction]", "JA")
    officer.fill(form + "input[name=conversation_id]", world.conversation_id)
    officer.fill(form + "input[name=window_start]", _iso(start))
    officer.fill(form + "input[name=window_end]", _iso((start + end) / 2))
    officer.fill(form + "textarea[name=legal_basis]", "Case 42, order of the court")
    shots(officer, "officer-form")
    officer.click(form + "button[type=submit]")
    officer.wait_for_selector("#reference")
    reference = officer.inner_text("#reference")
    assert officer.inner_text("#status") == "filed"
    shots(officer, "officer-filed")

    judge = browser.new_context().new_page()
    _sign_in(judge, served, accounts["judge-1"], shots, "judge")
    judge.goto(f"{served}/judge/warrants/{reference}")
    judge.set_input_files("#key-file", str(world.judge_key_files["judge-1"]))
    judge.click("#sign-button")
    judge.wait_for_selector("#sign-status:has-text('signed')")
    assert judge.inner_text("#status") == "approved"
    shots(judge, "judge-signed")

    for number in (1, 2, 3):
        operator = browser.new_context().new_page()
        _sign_in(operator, served, accounts[f"operator-{number}"], shots, f"operator{number}")
        operator.goto(f"{served}/custodian")
        operator.click(f"a.review[data-reference='{reference}']")
        operator.wait_for_selector("#request-body")
        shown = operator.inner_text("#request-body")
        assert f'"node":"K{number}"' in shown and reference in shown
        if number == 1:  # another operator's key: the node refuses, nothing changes
            held = {n: node.store.releases() for n, node in world.nodes.items()}
            operator.set_input_files("#key-file", str(world.operator_key_files["operator-2"]))
            operator.click("#sign-button")
            operator.wait_for_selector("#sign-status:has-text('refused')")
            assert "not signed by this node's operator" in operator.inner_text("#sign-status")
            shots(operator, "operator1-wrong-key-refused")
            assert {n: node.store.releases() for n, node in world.nodes.items()} == held
            assert operator.inner_text("#status") == "approved"
        operator.set_input_files("#key-file",
                                 str(world.operator_key_files[f"operator-{number}"]))
        operator.click("#sign-button")
        operator.wait_for_selector("#sign-status:has-text('released')")
        assert operator.inner_text("#sign-status").startswith(f"released: {number} of 3")
        shots(operator, f"operator{number}-released")
        operator.context.close()

    officer.goto(f"{served}/officer/warrants/{reference}")
    assert officer.inner_text("#status") == "recovered"
    officer.click("#open-recovered")
    officer.wait_for_selector("#messages")
    rows = officer.locator("#messages tr").count() - 1
    assert rows == int(officer.inner_text("#recovered-count")) == \
        int(officer.inner_text("#in-scope")) > 0
    assert int(officer.inner_text("#over-collection")) >= 1
    shots(officer, "officer-recovered")

    auditor = browser.new_context().new_page()
    _sign_in(auditor, served, accounts["auditor-1"], shots, "auditor")
    auditor.goto(f"{served}/auditor")
    auditor.click("#verify")
    auditor.wait_for_selector("#verification")
    assert auditor.inner_text("#verification").startswith("verified")
    shots(auditor, "auditor-verified")
    auditor.goto(f"{served}/auditor/warrants/{reference}")
    trail = auditor.inner_text("#trail")
    for step in ("warrant.filed", "warrant.approved", "custodian.released",
                 "warrant.recovered", "recovered.viewed"):
        assert step in trail
    shots(auditor, "auditor-trail")
    assert len(shots.taken) >= 16 and all(p.stat().st_size > 0 for p in shots.taken)
