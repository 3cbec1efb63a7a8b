"""Start ``escrowlab relay serve`` as a real subprocess on a loopback port (for HTTP tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def start_relay(db_url: str, port: int = 0, threads: int = 4, *extra: str
                ) -> tuple[subprocess.Popen, str]:
    """Run the relay (``extra``: more ``relay serve`` options); return the process and its
    URL once it listens."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "escrowlab.commands.relay", "serve", "--db", db_url,
         "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads), "--json",
         *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=PROJECT_ROOT)
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise RuntimeError(f"relay did not start: {process.stderr.read()}")
    return process, json.loads(line)["url"]


def stop_relay(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)
    for stream in (process.stdout, process.stderr):
        if stream:
            stream.close()
