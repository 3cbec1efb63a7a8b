"""Debian's Chromium driven by Playwright, for the browser tests.

No browser is downloaded: Playwright launches ``/usr/bin/chromium`` (Debian's
``chromium`` package, which ``.ci/run`` installs) headless, with the flags this
machine's closed network needs and ``--no-sandbox`` when running as root.
Where Chromium or Playwright is missing the browser tests are skipped, except
in CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import shutil

CHROMIUM = "/usr/bin/chromium"

LAUNCH_ARGS = (
    "--headless=new",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path() -> str | None:
    """The Chromium binary to drive, or ``None`` when it is not installed."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    return shutil.which("chromium")


def launch_args() -> list[str]:
    """Chromium's command-line flags for a headless run on this machine."""
    args = list(LAUNCH_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")
    return args
