"""The report's figures, drawn from a results document (docs/formats.md, "results.json") with
matplotlib's object-oriented API (a :class:`~matplotlib.figure.Figure` saved through the Agg
canvas: no display, no pyplot state).

Each figure function returns a :class:`Plot` (a PNG written) or a :class:`Skipped` with the
reason (its scenario was not run, or its records carry no curve). Every caption says what
was measured, with which parameters, trials and seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from escrowlab.report.results import matrix, outcomes_of

COLOURS = {"holds": "#7fc97f", "fails": "#f0027f", "n/a": "#e0e0e0", "error": "#fdc086"}
MODE_COLOURS = {"none": "#666666", "threshold": "#1b9e77", "leaf16": "#d95f02",
                "crumple": "#7570b3"}
BLAZE_1994 = ("Blaze (1994): 2^16 = 65,536 expected trials, about 42 minutes on the "
              "PCMCIA Capstone card he tested")


@dataclass(frozen=True)
class Plot:
    name: str
    title: str
    caption: str
    path: Path


@dataclass(frozen=True)
class Skipped:
    name: str
    title: str
    reason: str


def _save(fig: Figure, directory: Path, name: str) -> Path:
    path = directory / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def _colour(mode: str) -> str:
    return MODE_COLOURS.get(mode, "#1f78b4")


def matrix_plot(doc: dict, directory: Path) -> Plot | Skipped:
    rows = matrix(doc)
    title = "Scenario x mode"
    if not rows:
        return Skipped("matrix", title, "no scenario was run")
    modes = doc["modes"]
    fig = Figure(figsize=(2.2 * len(modes) + 2.5, 0.55 * len(rows) + 1.2))
    ax = fig.add_subplot()
    for y, (_entry, cells) in enumerate(rows):
        for x, mode in enumerate(modes):
            c = cells[mode]
            ax.add_patch(_rect(x, y, COLOURS.get(c["status"], "#ffffff")))
            text = c["text"] if c["status"] != "error" else "error"
            if c["key"]:
                text += "\n" + c["key"][0]
            ax.text(x + 0.5, y + 0.5, text, ha="center", va="center", fontsize=7)
    ax.set_xlim(0, len(modes))
    ax.set_ylim(len(rows), 0)
    ax.set_xticks([x + 0.5 for x in range(len(modes))], modes)
    ax.set_yticks([y + 0.5 for y in range(len(rows))],
                  [f"{e['id']} {e['slug']}" for e, _ in rows], fontsize=8)
    ax.xaxis.tick_top()
    ax.set_title(f"{title} (seed {doc['seed']}, {'full' if doc['full'] else 'quick'} sizes)",
                 fontsize=9, pad=22)
    path = _save(fig, directory, "matrix")
    return Plot("matrix", title, "Each cell: records whose measured outcome met what "
                "docs/scenarios.md pins, and the first key metric; grey: not applicable.",
                path)


def _rect(x, y, colour):
    return Rectangle((x, y), 1, 1, facecolor=colour, edgecolor="white")


def coalitions(doc: dict) -> list[dict[str, Any]]:
    """Per mode, the smallest coalition measured to read the reference conversation C1
    (every record with ``min_coalition``), with where it came from."""
    out = []
    for entry in doc["scenarios"]:
        for mode, run_entry in entry["runs"].items():
            for o in run_entry.get("outcomes", []):
                if "min_coalition" in o["metrics"]:
                    out.append({"mode": mode, "scenario": entry["id"], "variant": o["variant"],
                                "min_coalition": o["metrics"]["min_coalition"],
                                "needs": o["details"].get("min_coalition_needs", "")})
    return out


def coalition_plot(doc: dict, directory: Path) -> Plot | Skipped:
    title = "Minimum coalition that reads C1"
    rows = [r for r in coalitions(doc) if r["scenario"] == "S02"]
    if not rows:
        return Skipped("coalitions", title, "S02 (cust-collude) was not run")
    fig = Figure(figsize=(6, 3.2))
    ax = fig.add_subplot()
    for i, r in enumerate(rows):
        value = r["min_coalition"]
        ax.bar(i, value or 0, color=_colour(r["mode"]))
        ax.text(i, (value or 0) + 0.1, "nobody" if value is None else f"{value} parties\n"
                "+ the archive", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(rows)), [r["mode"] for r in rows])
    ax.set_ylabel("parties colluding")
    ax.set_ylim(0, max([r["min_coalition"] or 0 for r in rows] + [1]) + 1.5)
    ax.set_title(title, fontsize=10)
    return Plot("coalitions", title, "S02: parties (custodians, escrow agents) acting "
                f"without any judge, smallest number whose recovery is complete; seed "
                f"{doc['seed']}.", _save(fig, directory, "coalitions"))


def exposure_plot(doc: dict, directory: Path) -> Plot | Skipped:
    title = "Exposure vs custodians compromised"
    fig = Figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    drawn = 0
    for mode in doc["modes"]:
        points = sorted((o["details"]["stolen"], o["metrics"]["exposed_total"],
                         o["details"]["archived"])
                        for o in outcomes_of(doc, "S01", mode) if "stolen" in o["details"])
        if not points:
            continue
        ax.plot([p[0] for p in points], [p[1] / p[2] for p in points], marker="o",
                color=_colour(mode), label=mode)
        drawn += 1
    if not drawn:
        return Skipped("exposure", title, "S01 (cust-single) was not run")
    ax.set_xlabel("parties' keys stolen (custodians; leaf16: escrow agents)")
    ax.set_ylabel("fraction of the archive exposed")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return Plot("exposure", title, "S01: messages of C1, C2, C3 the stolen keys open through "
                f"the real recovery, over all archived; 3-of-5 custodians, 2-of-2 agents; seed "
                f"{doc['seed']}. 'none' holds no keys to steal (S03).",
                _save(fig, directory, "exposure"))


def leaf_plot(doc: dict, directory: Path) -> Plot | Skipped:
    title = "LEAF forgery: oracle queries vs the geometric law"
    records = [o for o in outcomes_of(doc, "S15", "leaf16")
               if o["details"].get("width") == 16 and "queries" in o["details"]]
    if not records:
        return Skipped("leaf", title, "S15 (leaf-forge) under leaf16 was not run")
    d = records[0]["details"]
    queries = sorted(d["queries"])
    p = 2.0 ** -16
    fig = Figure(figsize=(10, 3.6))
    hist, cdf = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    top = max(queries + [int(4 / p)])
    bins = 20
    hist.hist(queries, bins=bins, range=(0, top), density=True, color="#d95f02", alpha=0.7,
              label=f"measured ({len(queries)} forgeries)")
    xs = [top * i / 200 for i in range(201)]
    hist.plot(xs, [p * (1 - p) ** x for x in xs], color="black", label="geometric, mean 2^16")
    low, high = d["interval_99.9"]
    hist.axvspan(low, high, color="grey", alpha=0.2, label="99.9% interval of the mean")
    hist.axvline(d["mean"], color="#d95f02", linestyle="--", label=f"measured mean "
                 f"{d['mean']:,.0f}")
    hist.axvline(1 / p, color="black", linestyle=":", label=BLAZE_1994.split(":")[0] + ": 2^16")
    hist.set_xlabel("oracle queries until a LEAF validates")
    hist.legend(fontsize=7)
    cdf.step(queries, [(i + 1) / len(queries) for i in range(len(queries))], where="post",
             color="#d95f02", label="measured")
    cdf.plot(xs, [1 - (1 - p) ** x for x in xs], color="black", label="1 - (1 - 2^-16)^q")
    cdf.set_xlabel("oracle queries")
    cdf.set_ylabel("fraction of forgeries done")
    cdf.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return Plot("leaf", title, f"S15: {len(queries)} forgeries against the real chip module at "
                f"a 16-bit checksum (seed {d.get('seed', doc['seed'])}); mean "
                f"{d['mean']:,.0f}, median {d['median']:,.0f}, p95 {d['p95']:,}; 99.9% "
                f"interval of the mean [{low:,.0f}, {high:,.0f}]. {BLAZE_1994}.",
                _save(fig, directory, "leaf"))


def crumple_plot(doc: dict, directory: Path) -> Plot | Skipped:
    title = "Crumple: work per chain vs k, and mass vs targeted"
    per_chain = sorted((o["details"]["k"], o["details"]["mean"], o["details"]["standard_error"],
                        o["details"]["trials"])
                       for o in outcomes_of(doc, "S22", "crumple") if "mean" in o["details"])
    bulk = [o["details"] for o in outcomes_of(doc, "S22", "crumple")
            if "work_ratio" in o["details"]]
    if not per_chain:
        return Skipped("crumple", title, "S22 (crumple-cost) was not run")
    fig = Figure(figsize=(10, 3.6))
    work, ratio = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ks = [k for k, *_ in per_chain]
    work.errorbar(ks, [m for _, m, _, _ in per_chain], yerr=[2 * s for _, _, s, _ in per_chain],
                  fmt="o", color="#7570b3", label="measured mean (2 standard errors)")
    work.plot(ks, [2 ** (k - 1) for k in ks], color="black", label="2^(k-1)")
    work.set_yscale("log", base=2)
    work.set_xlabel("puzzle bits k")
    work.set_ylabel("candidates tried per chain")
    work.legend(fontsize=7)
    if bulk:
        b = bulk[0]
        ratio.bar([0, 1], [b["chain_ratio"], b["work_ratio"]], color=["#bbbbbb", "#7570b3"])
        ratio.set_xticks([0, 1], ["chains archived /\nchains in scope", "mass work /\n"
                                  "targeted work"])
        for x, v in enumerate((b["chain_ratio"], b["work_ratio"])):
            ratio.text(x, v, f"{v:.2f}", ha="center", va="bottom")
        ratio.set_title(f"k={b['k']}: {b['chains_in_scope']} chains in the window, "
                        f"{b['chains_archived']} archived", fontsize=8)
    fig.suptitle(title, fontsize=10)
    trials = ", ".join(f"k={k}: {n}" for k, _, _, n in per_chain)
    return Plot("crumple", title, f"S22: real lock, solver and recovery; chains per k: "
                f"{trials}; seed {doc['seed']}.", _save(fig, directory, "crumple"))


def _curve_plot(doc, directory, name, title, scenario_id, variants, xlabel, ylabel,
                total) -> Plot | Skipped:
    drawn = 0
    fig = Figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    for mode in doc["modes"]:
        for o in outcomes_of(doc, scenario_id, mode):
            curve = o["details"].get("curve")
            if o["variant"] not in variants or not isinstance(curve, list) or not curve:
                continue
            try:
                xs = [float(point[0]) for point in curve]
                ys = [float(sum(point[1:])) if total else float(point[1]) for point in curve]
            except (TypeError, ValueError, IndexError):
                continue
            style = "-" if o["variant"] == variants[0] else "--"
            ax.plot(xs, ys, style, marker=".", color=_colour(mode),
                    label=f"{mode}: {o['variant']}")
            drawn += 1
    if not drawn:
        return Skipped(name, title, f"{scenario_id} records with a curve are not in this run "
                       f"(the scenario is not registered on this branch, or was not selected)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=10)
    return Plot(name, title, f"{scenario_id}: the curve its records measured "
                f"(details.curve), seed {doc['seed']}.", _save(fig, directory, name))


def fs_plot(doc: dict, directory: Path) -> Plot | Skipped:
    return _curve_plot(doc, directory, "fs_exposure", "Forward-secrecy exposure over time",
                       "S04", ("custodians", "device", "both"), "snapshot time T (days)",
                       "messages exposed (before and after T)", True)


def over_collection_plot(doc: dict, directory: Path) -> Plot | Skipped:
    return _curve_plot(doc, directory, "over_collection", "Over-collection vs ratchet interval",
                       "S10", ("outside-window",), "ratchet interval r (messages)",
                       "messages exposed outside the window", False)


HASHER_COLOURS = {"phash": "#1b9e77", "dhash": "#d95f02", "ahash": "#7570b3", "pdq": "#e7298a"}
JAIN_2022 = "Jain et al. (USENIX Security 2022): > 99.9% of images evade, black-box"
APPLE_2021 = "Apple (2021): < 1e-12 per account per year at t = 30"


def _hasher_curves(doc: dict, scenario_id: str, suffix: str = ""):
    """(hasher, its record's details) for each record of ``scenario_id`` whose variant is a
    hasher name (followed by ``suffix``) and that carries a curve of numbers."""
    for o in outcomes_of(doc, scenario_id):
        name = o["variant"].removesuffix(suffix)
        curve = o["details"].get("curve")
        if (suffix and not o["variant"].endswith(suffix)) or not isinstance(curve, list) \
                or not curve:
            continue
        try:
            points = [[float(value) for value in point] for point in curve]
        except (TypeError, ValueError):
            continue
        if all(len(point) >= 2 for point in points):
            yield name, o["details"], points


def evasion_plot(doc: dict, directory: Path) -> Plot | Skipped:
    title = "Evasion success vs distortion budget"
    curves = list(_hasher_curves(doc, "S29", "/perturb"))
    if not curves:
        return Skipped("css_evasion", title, "S29 (css-evade) records with a curve are not in "
                       "this run")
    fig = Figure(figsize=(10, 3.6))
    rate, quality = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for name, details, points in curves:
        colour = HASHER_COLOURS.get(name, "#1f78b4")
        label = f"{name} (match: distance <= {details.get('threshold')})"
        rate.plot([p[0] for p in points], [p[1] for p in points], marker="o", color=colour,
                  label=label)
        drawn = [p for p in points if len(p) > 2 and p[2] > 0]
        quality.plot([p[0] for p in drawn], [p[2] for p in drawn], marker="o", color=colour,
                     label=label)
    rate.axhline(0.999, color="black", linestyle=":", label="Jain et al. 2022: 99.9%")
    rate.set_xscale("log", base=2)
    rate.set_xlabel("L-infinity budget (pixel levels of 255)")
    rate.set_ylabel("fraction of listed images evading")
    rate.set_ylim(-0.05, 1.05)
    rate.legend(fontsize=7)
    quality.set_xscale("log", base=2)
    quality.set_xlabel("L-infinity budget (pixel levels of 255)")
    quality.set_ylabel("mean PSNR of the evading images (dB)")
    fig.suptitle(title, fontsize=10)
    d = curves[0][1]
    return Plot("css_evasion", title, f"S29: black-box random search on the hash distance, at "
                f"most {d.get('budget')} queries per image, {len(d.get('listed', []))} listed "
                f"images of {d.get('side')} px, seed {d.get('seed', doc['seed'])}. {JAIN_2022}.",
                _save(fig, directory, "css_evasion"))


def framing_plot(doc: dict, directory: Path) -> Plot | Skipped:
    title = "Framing success vs oracle queries"
    curves = list(_hasher_curves(doc, "S30"))
    if not curves:
        return Skipped("css_framing", title, "S30 (css-frame) records with a curve are not in "
                       "this run")
    fig = Figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    for name, details, points in curves:
        ax.step([p[0] for p in points], [p[1] for p in points], where="post", marker=".",
                color=HASHER_COLOURS.get(name, "#1f78b4"),
                label=f"{name} ({details.get('bits')} bits, distance <= "
                      f"{details.get('threshold')})")
    ax.set_xlabel("oracle queries")
    ax.set_ylabel("fraction of innocuous images framed")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=10)
    d = curves[0][1]
    return Plot("css_framing", title, f"S30: black-box random search towards a listed hash "
                f"within L-infinity {d.get('eps')}, {d.get('trials')} innocuous images of "
                f"{d.get('side')} px per hasher, seed {d.get('seed', doc['seed'])}; the "
                "matcher's second hash and reviewer are not in this figure.",
                _save(fig, directory, "css_framing"))


def account_fp_plot(doc: dict, directory: Path) -> Plot | Skipped:
    title = "Account false-positive rate vs threshold t"
    curves = list(_hasher_curves(doc, "S28"))
    if not curves:
        return Skipped("css_account_fp", title, "S28 (css-fp-rate) records with a curve are "
                       "not in this run")
    floor = 1e-30
    fig = Figure(figsize=(6, 3.8))
    ax = fig.add_subplot()
    for name, _details, points in curves:
        colour = HASHER_COLOURS.get(name, "#1f78b4")
        ts = [p[0] for p in points]
        if any(p[1] > 0 for p in points):
            ax.plot(ts, [max(p[1], floor) for p in points], color=colour,
                    label=f"{name}: measured")
        if all(len(p) > 2 for p in points):
            ax.plot(ts, [max(p[2], floor) for p in points], "--", color=colour,
                    label=f"{name}: 95% upper bound")
    ax.axhline(1e-12, color="black", linestyle=":", label=APPLE_2021)
    ax.set_yscale("log")
    ax.set_ylim(floor / 10, 2)
    ax.set_xlabel("matches needed to flag an account, t")
    ax.set_ylabel("P(innocent account flagged in a year)")
    ax.legend(fontsize=6)
    ax.set_title(title, fontsize=10)
    d = curves[0][1]
    level = d.get("account", {})
    return Plot("css_account_fp", title, f"S28: binomial tail over "
                f"{level.get('images_per_year')} images a year from the per-image rate measured "
                f"on {d.get('n')} innocent images against {d.get('database')} listed hashes "
                f"(seed {d.get('seed', doc['seed'])}); the upper bound is the one-sided 95% "
                f"exact bound (rule of three at zero); a hasher with no false positive has no "
                f"measured line (its rate is 0); values below {floor:g} drawn at {floor:g}. "
                "Independence of one account's images is assumed.",
                _save(fig, directory, "css_account_fp"))


def cost_plot(doc: dict, directory: Path) -> Plot | Skipped:
    title = "Cost to honest users"
    cost = doc.get("cost")
    if not cost:
        return Skipped("cost", title, "the cost measurement was not run (--no-cost)")
    modes = [m for m in cost["modes"]]
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    ratios, size, check = (fig.add_subplot(1, 3, i) for i in (1, 2, 3))
    xs = range(len(modes))
    width = 0.38
    ratios.bar([x - width / 2 for x in xs], [cost["modes"][m]["burst_ratio"] for m in modes],
               width, label="burst", color="#1b9e77")
    ratios.bar([x + width / 2 for x in xs], [cost["modes"][m]["pingpong_ratio"] for m in modes],
               width, label="ping-pong", color="#d95f02")
    ratios.axhline(1.0, color="black", linewidth=0.8)
    ratios.set_xticks(list(xs), modes)
    ratios.set_ylabel("messages/s vs none")
    ratios.legend(fontsize=7)
    size.bar(list(xs), [cost["modes"][m]["bytes_per_message"] for m in modes],
             color=[_colour(m) for m in modes])
    size.set_xticks(list(xs), modes)
    size.set_ylabel(f"bytes per {cost['message_size']}-byte message")
    checks = [cost["modes"][m]["check_us"] or 0 for m in modes]
    check.bar(list(xs), checks, color=[_colour(m) for m in modes])
    check.set_xticks(list(xs), modes)
    check.set_ylabel("recipient check per chain (µs)")
    fig.suptitle(title, fontsize=10)
    return Plot("cost", title, f"Two in-process sessions per mode, {cost['messages']} messages "
                f"of {cost['message_size']} bytes, best of {cost['rounds']}; record check over "
                f"{cost['records']} records; registry default parameters.",
                _save(fig, directory, "cost"))


FIGURES = (matrix_plot, coalition_plot, exposure_plot, leaf_plot, crumple_plot, fs_plot,
           over_collection_plot, account_fp_plot, evasion_plot, framing_plot, cost_plot)


def draw_all(doc: dict, directory: Path) -> list[Plot | Skipped]:
    directory.mkdir(parents=True, exist_ok=True)
    return [figure(doc, directory) for figure in FIGURES]

