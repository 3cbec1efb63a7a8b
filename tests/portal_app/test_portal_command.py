"""``escrowlab portal`` (docs/portal.md, "Running it"): serves on loopback with the demo
accounts printed once, and refuses a non-loopback address."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

from tests.paths import PROJECT_ROOT


def test_portal_command_serves_the_login_page_and_prints_the_accounts(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "escrowlab", "portal", "--port", "0", "--json", "--dir",
         str(tmp_path / "state"), "--messages", "3", "--threads", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        cwd=PROJECT_ROOT)
    try:
        started = json.loads(process.stdout.readline())
        login = f"{started['url']}/login"  # http://127.0.0.1 only, checked below
        with urllib.request.urlopen(login, timeout=10) as answer:  # noqa: S310
            page = answer.read().decode()
            headers = answer.headers
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert started["url"].startswith("http://127.0.0.1:")
    assert "password" in page
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    roles = {role for account in started["accounts"] for role in account["roles"]}
    assert roles == {"officer", "judge", "custodian", "auditor", "admin"}
    assert all(a["totp"] for a in started["accounts"]
               if {"judge", "custodian", "admin"} & set(a["roles"]))
    files = set(os.listdir(tmp_path / "state"))
    assert {"audit.db", "holders", "portal.db", "witness-1.db"} <= files
    held = tmp_path / "state" / "holders"
    assert {"judge-1.pem", "judge-2.pem", "operator-1.pem", "operator-5.pem"} <= \
        set(os.listdir(held))
    assert set(started["operator_key_files"]) == {f"operator-{n}" for n in range(1, 6)}
    assert oct((held / "judge-1.pem").stat().st_mode & 0o777) == "0o600"
    assert oct((held / "operator-1.pem").stat().st_mode & 0o777) == "0o600"


def test_portal_command_refuses_a_public_address():
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    result = subprocess.run([sys.executable, "-m", "escrowlab", "portal", "--host",
                             "0.0.0.0", "--port", "0"],  # noqa: S104 - the refused case
                            capture_output=True, text=True, env=env, cwd=PROJECT_ROOT,
                            timeout=60)
    assert result.returncode == 2
    assert "loopback only" in result.stderr
