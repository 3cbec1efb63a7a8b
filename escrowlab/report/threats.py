"""The threat-by-mode table of ``threat_model.md``, generated from a results document.

The table sits between :data:`BEGIN` and :data:`END`; :func:`update` rewrites only what is
between them. The reference results are ``docs/attack-results.json`` (a quick run, seed 0,
written by ``escrowlab attacks --update-docs``); a test regenerates the table from them and
compares, and checks them against the registry and a fresh run of the quick scenarios, so
the table cannot drift from the tests.

A cell is ``✓ n/n`` (every record met what docs/scenarios.md pins), ``✗ k/n``, ``n/a`` (the
scenario does not apply to the mode) or ``error``, then the first of
:data:`DETERMINISTIC` the records carry: only what is the same from run to run at one
seed, never a timing, a work count or anything else cryptographic randomness decides.
"""

from __future__ import annotations

from pathlib import Path

from escrowlab.report.results import RAN, matrix, metric_text

BEGIN = ("<!-- BEGIN threat-by-mode (generated from docs/attack-results.json by "
         "`escrowlab attacks --update-docs`; do not edit) -->")
END = "<!-- END threat-by-mode -->"
REFERENCE = Path("docs") / "attack-results.json"
THREAT_MODEL = Path("threat_model.md")
DETERMINISTIC = ("min_coalition", "exposed_total", "exposed_out_of_scope", "metadata_fields")


class ThreatTableError(ValueError):
    """A threat model without the table's markers."""


def cell_text(c: dict, run_entry: dict) -> str:
    if c["status"] not in ("holds", "fails"):
        return c["status"] if c["status"] == "n/a" else "error"
    text = (f"✓ {c['records']}/{c['records']}" if c["status"] == "holds"
            else f"✗ {c['held']}/{c['records']}")
    outcomes = run_entry["outcomes"] if run_entry["status"] == RAN else []
    for name in DETERMINISTIC:
        key = metric_text(name, [o["metrics"][name] for o in outcomes if name in o["metrics"]])
        if key:
            return f"{text} · {key}"
    return text


def table(doc: dict) -> str:
    """The Markdown table: one row per scenario, one column per mode of the run."""
    modes = doc["modes"]
    lines = ["| threat | " + " | ".join(f"`{m}`" for m in modes) + " |",
             "| --- |" + " --- |" * len(modes)]
    for entry, cells in matrix(doc):
        lines.append(f"| {entry['id']} {entry['slug']} | "
                     + " | ".join(cell_text(cells[m], entry["runs"][m]) for m in modes) + " |")
    return "\n".join(lines)


def replace(text: str, doc: dict) -> str:
    """``text`` with the generated table between the markers."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise ThreatTableError("the threat model needs exactly one pair of markers "
                               f"{BEGIN!r} ... {END!r}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table(doc)}\n{END}{tail}"


def current(text: str) -> str:
    """What is between the markers now."""
    if BEGIN not in text or END not in text:
        raise ThreatTableError("no generated threat table in this file")
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")
