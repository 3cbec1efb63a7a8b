"""S34 css-text-base-rate (docs/scenarios.md; docs/css_text.md, "S34"): a text detector's
precision at realistic prevalence, the base-rate fallacy measured.

The detector (:class:`escrow.css.text.TextDetector`) is trained on a balanced set of
synthetic chats (:mod:`escrow.css.chats`, half targets) and measured twice:

- in the *lab*: a fresh balanced set, where accuracy, precision and recall are what a
  vendor would quote;
- in *deployment*: a seeded population at prevalence ``1 in 10,000`` (20,000 chats
  quick, 500,000 with ``--full``), scanned chat by chat; every flag is a report, true if
  the chat is a target, false otherwise.

Each flagging rule is one record: keywords alone (one indicator family, or two) and the
classifier at thresholds 0.5 and 0.9. The record gives the lab figures, the population's
true and false reports, the measured precision and false reports per true report, the
false-positive rate with its 95% Clopper-Pearson interval, and the precision Bayes' rule
predicts from the lab recall and that rate at prevalences from 1 in 1,000 to 1 in
1,000,000. The pinned outcome: a rule with lab precision of 90%
or more reports mostly innocent chats in deployment.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import beta

from escrow.css.chats import Chat, ChatStyle, generate_chats
from escrow.css.text import TextDetector, TextVerdict
from escrowlab.scenarios.record import Outcome
from escrowlab.scenarios.registry import Params, scenario

RULES = {"keywords": (0.0, 1), "keywords, two families": (0.0, 2),
         "classifier 0.5": (0.5, 0), "classifier 0.9": (0.9, 0)}
"""Flagging rules by name: (classifier threshold, indicator families required)."""
PREVALENCES = (1e-3, 1e-4, 1e-5, 1e-6)


@dataclass(frozen=True)
class Sizes:
    train: int
    lab: int
    population: int
    prevalence: float


QUICK = Sizes(train=600, lab=1_000, population=20_000, prevalence=1e-4)
FULL = Sizes(train=4_000, lab=10_000, population=500_000, prevalence=1e-4)


@dataclass(frozen=True)
class Counts:
    """A confusion matrix: true and false positives, and how many targets and benign."""

    true_positives: int
    false_positives: int
    targets: int
    benign: int

    @classmethod
    def of(cls, detector: TextDetector, chats: list[Chat],
           verdicts: list[TextVerdict]) -> Counts:
        flags = [detector.decide(v.score, v.indicators) for v in verdicts]
        targets = sum(c.target for c in chats)
        return cls(sum(f and c.target for f, c in zip(flags, chats, strict=True)),
                   sum(f and not c.target for f, c in zip(flags, chats, strict=True)),
                   targets, len(chats) - targets)

    @property
    def reports(self) -> int:
        return self.true_positives + self.false_positives

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.targets if self.targets else None

    @property
    def fpr(self) -> float:
        return self.false_positives / self.benign

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.reports if self.reports else None

    @property
    def accuracy(self) -> float:
        right = self.true_positives + self.benign - self.false_positives
        return right / (self.targets + self.benign)


def clopper_pearson(successes: int, trials: int) -> tuple[float, float]:
    """The exact two-sided 95% interval of a binomial proportion."""
    low = 0.0 if successes == 0 else float(beta.ppf(0.025, successes, trials - successes + 1))
    high = 1.0 if successes == trials else float(beta.ppf(0.975, successes + 1,
                                                          trials - successes))
    return low, high


def bayes_precision(recall: float, fpr: float, prevalence: float) -> float | None:
    """P(target | flagged) at ``prevalence`` for a detector of this recall and FPR."""
    flagged = recall * prevalence + fpr * (1 - prevalence)
    return recall * prevalence / flagged if flagged else None


def _record(name: str, lab: Counts, deployed: Counts, sizes: Sizes, seed: int) -> Outcome:
    low, high = clopper_pearson(deployed.false_positives, deployed.benign)
    recall = lab.recall or 0.0
    per_true = (deployed.false_positives / deployed.true_positives
                if deployed.true_positives else None)
    lab_precision = lab.precision or 0.0
    precision = deployed.precision
    holds = lab_precision >= 0.9 and precision is not None and precision < 0.5
    threshold, families = RULES[name]
    return Outcome(
        "S34", "css", name,
        "lab precision of 90% or more, yet most reports at 1 in 10,000 are of innocent chats",
        holds, {},
        {"threshold": threshold, "min_families": families, "seed": seed,
         "train_chats": sizes.train, "lab_chats": lab.targets + lab.benign,
         "lab_accuracy": lab.accuracy, "lab_precision": lab.precision,
         "lab_recall": lab.recall, "lab_fpr": lab.fpr,
         "population": deployed.targets + deployed.benign, "prevalence": sizes.prevalence,
         "targets": deployed.targets, "reports": deployed.reports,
         "true_reports": deployed.true_positives, "false_reports": deployed.false_positives,
         "precision": precision, "false_reports_per_true_report": per_true,
         "fpr": deployed.fpr, "fpr_95": [low, high],
         "predicted_precision": {f"1 in {round(1 / p):,}": bayes_precision(
             recall, deployed.fpr, p) for p in PREVALENCES}})


@scenario("S34", "css-text-base-rate",
          "a text classifier's precision at realistic prevalence (the base-rate fallacy)",
          ("css",))
def css_text_base_rate(params: Params, mode: str) -> list[Outcome]:
    sizes = FULL if params.full else QUICK
    style = ChatStyle()
    seed = 3 * params.seed
    detector = TextDetector.train(generate_chats(sizes.train, 0.5, seed, style), params.seed)
    lab = generate_chats(sizes.lab, 0.5, seed + 1, style)
    population = generate_chats(sizes.population, sizes.prevalence, seed + 2, style)
    lab_verdicts = detector.scan_many(lab)
    verdicts = detector.scan_many(population)
    out = []
    for name, (threshold, families) in RULES.items():
        rule = detector.with_rule(threshold, families)
        out.append(_record(name, Counts.of(rule, lab, lab_verdicts),
                           Counts.of(rule, population, verdicts), sizes, params.seed))
    return out
