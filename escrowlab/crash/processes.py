"""Child processes for the crash trials: start, read their acknowledgements, SIGKILL them.

Children run this interpreter with the project on ``PYTHONPATH``; stdout is read
line by line by a thread (an acknowledgement is a whole line the child flushed: a
last line cut off by the kill is dropped), stderr is kept (its tail explains a
failed start).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import escrowlab

PROJECT_ROOT = Path(escrowlab.__file__).resolve().parents[1]
START_TIMEOUT = 60.0
STDERR_TAIL = 2000


class ChildFailed(Exception):
    """A child process did not start or answered something unexpected."""


class Child:
    """One child process: ``python ARGS...`` with stdout lines queued as they arrive."""

    def __init__(self, args: list[str], cwd: str | os.PathLike[str] | None = None) -> None:
        path = os.environ.get("PYTHONPATH")
        env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT) + (os.pathsep + path if path else ""))
        self.process = subprocess.Popen(
            [sys.executable, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=env, cwd=cwd or PROJECT_ROOT)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._threads = [threading.Thread(target=self._read_stdout, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for thread in self._threads:
            thread.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.endswith("\n"):  # a line cut off by the kill was never acknowledged
                self._lines.put(line[:-1])
        self._lines.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line)
            if len(self._stderr) > 200:
                del self._stderr[:100]

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)[-STDERR_TAIL:]

    def line(self, timeout: float) -> str | None:
        """The next stdout line, or ``None`` at end of output or after ``timeout`` seconds."""
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def lines(self) -> list[str]:
        """Every stdout line queued so far (call after the child ended to get them all)."""
        out = []
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                return out
            if line is not None:
                out.append(line)

    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> bool:
        """SIGKILL the child (if still running) and reap it; True if it was running."""
        was_running = self.process.poll() is None
        if was_running:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.join()
        return was_running

    def wait(self, timeout: float) -> int:
        """Wait for the child to exit; SIGKILL it after ``timeout`` seconds (then raise)."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ChildFailed(f"child did not finish within {timeout:g} s") from None
        self.join()
        return code

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def start_server(args: list[str], cwd: str | os.PathLike[str] | None = None
                 ) -> tuple[Child, dict]:
    """Start a server that prints one JSON line when it listens; return it and that line."""
    child = Child(args, cwd)
    line = child.line(START_TIMEOUT)
    if line is None:
        child.kill()
        raise ChildFailed(f"{' '.join(args[:4])} did not start: {child.stderr.strip()}")
    try:
        return child, json.loads(line)
    except ValueError:
        child.kill()
        raise ChildFailed(f"{' '.join(args[:4])} printed {line!r}") from None


def start_relay(db_url: str, port: int = 0, threads: int = 4) -> tuple[Child, str]:
    """``escrowlab relay serve`` on 127.0.0.1 (``port`` 0: any free port); the child and URL."""
    child, info = start_server(
        ["-m", "escrowlab.commands.relay", "serve", "--db", db_url, "--host", "127.0.0.1",
         "--port", str(port), "--threads", str(threads), "--json"])
    return child, str(info["url"])


def sqlite_check(path: str | os.PathLike[str]) -> list[str]:
    """What SQLite's ``integrity_check`` and ``foreign_key_check`` report (empty: sound).

    Opening the file after a SIGKILL replays its WAL, as the restarted process would.
    """
    if not Path(path).is_file():
        return [f"{path} is missing"]
    try:
        db = sqlite3.connect(str(path))
        try:
            problems = [row[0] for row in db.execute("PRAGMA integrity_check")
                        if row[0] != "ok"]
            problems += [f"foreign key: {row}" for row in db.execute("PRAGMA foreign_key_check")]
        finally:
            db.close()
    except sqlite3.Error as exc:
        problems = [f"sqlite: {exc}"]
    return problems
