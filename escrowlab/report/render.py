"""``report.md`` and ``report.html`` from a results document and its figures.

The HTML is one self-contained file: inline CSS, every figure embedded as a base64 PNG
``data:`` URI, no script and no external reference, so it reads from disk without a server.
Both say how every number was measured: the run's seed and sizes, each figure's caption
(parameters and trials), the environment (versions, machine), and per scenario every
record with its expected outcome and measured metrics.
"""

from __future__ import annotations

import base64
import datetime
import html
import json
from pathlib import Path
from typing import Any

from escrowlab.report.plots import Plot, Skipped, coalitions
from escrowlab.report.results import matrix

MARK = {"holds": "✓", "fails": "✗", "n/a": "", "error": "⚠"}
CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222;
       line-height: 1.4; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; vertical-align: top; }
th { background: #f4f4f4; }
td.holds { background: #e8f6e8; } td.fails { background: #fbe0ee; }
td.na { background: #f2f2f2; color: #888; } td.error { background: #fdebd0; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption, .skipped { font-size: 0.85em; color: #555; }
code { background: #f4f4f4; padding: 0 0.2em; }
details { margin: 0.5em 0; }
"""


def _cell_text(c: dict[str, Any]) -> str:
    if c["status"] == "n/a":
        return "n/a"
    if c["status"] == "error":
        return "⚠ error"
    return " · ".join([f"{MARK[c['status']]} {c['text']}", *c["key"]])


def _when(doc: dict) -> str:
    return datetime.datetime.fromtimestamp(doc["started"], datetime.UTC).strftime(
        "%Y-%m-%d %H:%M UTC")


def _environment_lines(doc: dict) -> list[str]:
    env = doc["environment"]
    packages = ", ".join(f"{k} {v}" for k, v in env["packages"].items() if v)
    return [f"Python {env['python']} ({env['implementation']}) on {env['platform']}, "
            f"{env['machine']}, {env['cpus']} CPUs; commit {env['commit'] or 'unknown'}",
            f"packages: {packages}"]


def _run_line(doc: dict) -> str:
    return (f"seed {doc['seed']}, {'full' if doc['full'] else 'quick (CI)'} sizes, modes "
            f"{', '.join(doc['modes'])}; started {_when(doc)}, took {doc['seconds']:.0f} s")


def _metrics_text(metrics: dict) -> str:
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in metrics.items())


def _coalition_rows(doc: dict) -> list[tuple[str, str, str, str]]:
    return [(r["mode"], "nobody" if r["min_coalition"] is None else str(r["min_coalition"]),
             f"{r['scenario']} {r['variant']}", r["needs"]) for r in coalitions(doc)]


def matrix_markdown(doc: dict) -> str:
    """The scenario x mode matrix as a Markdown table."""
    modes = doc["modes"]
    lines = ["| scenario | " + " | ".join(modes) + " |",
             "| --- |" + " --- |" * len(modes)]
    for entry, cells in matrix(doc):
        lines.append(f"| {entry['id']} {entry['slug']} | "
                     + " | ".join(_cell_text(cells[m]).replace("|", "/") for m in modes) + " |")
    return "\n".join(lines)


def markdown(doc: dict, figures: list[Plot | Skipped]) -> str:
    out = ["# escrowlab attack report", "",
           f"Run: {_run_line(doc)}.", "",
           *(f"- {line}" for line in _environment_lines(doc)), "",
           "Each cell counts the records whose measured outcome met what docs/scenarios.md "
           "pins (✓ all, ✗ not all), then the key metrics; `n/a`: the scenario does not "
           "apply to the mode.", "", "## Scenario x mode", "", matrix_markdown(doc), "",
           "## Minimum coalitions that read C1", "",
           "| mode | parties | measured by | also needs |", "| --- | --- | --- | --- |"]
    out += [f"| {m} | {n} | {w} | {x} |" for m, n, w, x in _coalition_rows(doc)]
    out += ["", "## Figures", ""]
    for fig in figures:
        if isinstance(fig, Plot):
            out += [f"### {fig.title}", "", f"![{fig.title}]({fig.path.name})", "",
                    fig.caption, ""]
        else:
            out += [f"### {fig.title}", "", f"Not drawn: {fig.reason}.", ""]
    out += _cost_markdown(doc)
    out += ["## Records", ""]
    for entry in doc["scenarios"]:
        out += [f"### {entry['id']} {entry['slug']}: {entry['title']}", "",
                "| mode | variant | expected | holds | metrics |",
                "| --- | --- | --- | --- | --- |"]
        for mode, run_entry in entry["runs"].items():
            if run_entry["status"] == "error":
                out.append(f"| {mode} | — | — | error | {run_entry['error']} |")
            for o in run_entry.get("outcomes", []):
                out.append(f"| {mode} | {o['variant']} | {o['expected']} | "
                           f"{'yes' if o['holds'] else 'NO'} | "
                           f"{_metrics_text(o['metrics']).replace('|', '/')} |")
        out.append("")
    return "\n".join(out)


def _cost_rows(doc: dict) -> list[list[str]]:
    cost = doc.get("cost")
    if not cost:
        return []
    rows = []
    for mode, c in cost["modes"].items():
        rows.append([mode, f"{c['burst_ratio']:.2f}", f"{c['pingpong_ratio']:.2f}",
                     f"{c['bytes_per_message']:.0f}", f"{c['overhead_bytes']:+.0f}",
                     "—" if c["check_us"] is None else f"{c['check_us']:.0f}",
                     ", ".join(f"{k}={v}" for k, v in c["parameters"].items()) or "—"])
    return rows


COST_HEADER = ["mode", "burst ratio", "ping-pong ratio", "bytes/message", "overhead bytes",
               "recipient check (µs)", "parameters"]


def _cost_markdown(doc: dict) -> list[str]:
    rows = _cost_rows(doc)
    if not rows:
        return ["## Cost to honest users", "", "Not measured in this run.", ""]
    cost = doc["cost"]
    return ["## Cost to honest users", "",
            f"{cost['how']}; {cost['messages']} messages of {cost['message_size']} bytes, "
            f"best of {cost['rounds']}; the check over {cost['records']} records.", "",
            "| " + " | ".join(COST_HEADER) + " |", "|" + " --- |" * len(COST_HEADER),
            *("| " + " | ".join(r) + " |" for r in rows), ""]


def _table(table_id: str, header: list[str], rows: list[list[str]],
           classes: list[list[str]] | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cells = []
        for j, value in enumerate(row):
            cls = classes[i][j] if classes else ""
            attr = f' class="{cls}"' if cls else ""
            cells.append(f"<td{attr}>{html.escape(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>'
            + "".join(body) + "</tbody></table>")


def html_report(doc: dict, figures: list[Plot | Skipped]) -> str:
    modes = doc["modes"]
    rows, classes = [], []
    for entry, cells in matrix(doc):
        rows.append([f"{entry['id']} {entry['slug']}", *(_cell_text(cells[m]) for m in modes)])
        classes.append(["", *({"n/a": "na"}.get(cells[m]["status"], cells[m]["status"])
                              for m in modes)])
    parts = ["<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
             "<title>escrowlab attack report</title>", f"<style>{CSS}</style></head><body>",
             "<h1>escrowlab attack report</h1>",
             f"<p>Run: {html.escape(_run_line(doc))}.</p><ul>",
             *(f"<li>{html.escape(line)}</li>" for line in _environment_lines(doc)), "</ul>",
             "<h2>Scenario x mode</h2><p>Each cell counts the records whose measured outcome "
             "met what docs/scenarios.md pins (✓ all, ✗ not all), then the key metrics.</p>",
             _table("matrix", ["scenario", *modes], rows, classes),
             "<h2>Minimum coalitions that read C1</h2>",
             _table("coalitions", ["mode", "parties", "measured by", "also needs"],
                    [list(r) for r in _coalition_rows(doc)]),
             "<h2>Figures</h2>"]
    for fig in figures:
        if isinstance(fig, Plot):
            data = base64.b64encode(fig.path.read_bytes()).decode()
            parts.append(f'<figure id="fig-{fig.name}"><h3>{html.escape(fig.title)}</h3>'
                         f'<img alt="{html.escape(fig.title)}" src="data:image/png;base64,'
                         f'{data}"><figcaption>{html.escape(fig.caption)}</figcaption>'
                         "</figure>")
        else:
            parts.append(f'<h3>{html.escape(fig.title)}</h3><p class="skipped" '
                         f'id="skipped-{fig.name}">Not drawn: {html.escape(fig.reason)}.</p>')
    parts.append("<h2>Cost to honest users</h2>")
    cost_rows = _cost_rows(doc)
    if cost_rows:
        cost = doc["cost"]
        parts.append(f"<p>{html.escape(cost['how'])}; {cost['messages']} messages of "
                     f"{cost['message_size']} bytes, best of {cost['rounds']}.</p>")
        parts.append(_table("cost", COST_HEADER, cost_rows))
    else:
        parts.append("<p>Not measured in this run.</p>")
    parts.append("<h2>Records</h2>")
    for entry in doc["scenarios"]:
        records = []
        for mode, run_entry in entry["runs"].items():
            if run_entry["status"] == "error":
                records.append([mode, "—", "—", "error", run_entry["error"]])
            records += [[mode, o["variant"], o["expected"], "yes" if o["holds"] else "NO",
                         _metrics_text(o["metrics"])] for o in run_entry.get("outcomes", [])]
        parts.append(f"<details open><summary><b>{html.escape(entry['id'])} "
                     f"{html.escape(entry['slug'])}</b>: {html.escape(entry['title'])}"
                     "</summary>"
                     + _table(f"records-{entry['id']}", ["mode", "variant", "expected",
                                                         "holds", "metrics"], records)
                     + "</details>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write(doc: dict, figures: list[Plot | Skipped], directory: Path) -> dict[str, Path]:
    """Write results.json, report.md and report.html into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"results": directory / "results.json", "markdown": directory / "report.md",
             "html": directory / "report.html"}
    paths["results"].write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    paths["markdown"].write_text(markdown(doc, figures) + "\n")
    paths["html"].write_text(html_report(doc, figures))
    return paths
