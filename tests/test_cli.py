"""The console script's own behaviour: mode options, broken pipes, help."""

import subprocess
import sys

import pytest

from escrowlab.cli import main


@pytest.mark.parametrize("argv, option", [
    (["--escrow", "leaf16", "--custodians", "3"], "--custodians"),
    (["--escrow", "none", "--puzzle-bits", "18"], "--puzzle-bits"),
    (["--escrow", "threshold", "--leaf-width", "24"], "--leaf-width"),
])
def test_a_mode_option_given_to_another_mode_is_refused(capsys, argv, option):
    assert main(["demo", *argv]) == 2
    assert f"escrowlab: {option} applies to --escrow" in capsys.readouterr().err


def test_a_closed_pipe_ends_quietly():
    reader = subprocess.Popen([sys.executable, "-c", "pass"], stdin=subprocess.PIPE)
    reader.wait(timeout=30)  # nobody reads the pipe any more
    writer = subprocess.run(
        [sys.executable, "-m", "escrowlab", "demo", "--messages", "2"],
        stdout=reader.stdin, stderr=subprocess.PIPE, timeout=120, check=False)
    reader.stdin.close()
    assert b"Traceback" not in writer.stderr
    assert writer.returncode in (0, 141)


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("audit", "bench", "demo", "escrow", "relay"):
        assert command in out


@pytest.mark.parametrize("argv", [["demo", "--messages", "0"], ["demo", "--messages", "x"],
                                  ["bench", "messaging", "--rounds", "0"],
                                  ["bench", "escrow", "--records", "-3"],
                                  ["bench", "escrow-modes", "--forgeries", "100001"]])
def test_counts_outside_their_range_are_usage_errors(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "whole number" in capsys.readouterr().err
