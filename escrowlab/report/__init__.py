"""The attack report (docs/scenarios.md, "The report"; docs/formats.md, "results.json").

- :mod:`escrowlab.report.results`: run the registered scenarios (every family module of
  :mod:`escrowlab.scenarios`) under every mode, and build the versioned results document;
- :mod:`escrowlab.report.cost`: what each proposal costs honest users, from the benchmarks'
  own timing code at small sizes;
- :mod:`escrowlab.report.plots`: the figures, as PNG (matplotlib, Agg);
- :mod:`escrowlab.report.render`: ``report.md`` and the self-contained ``report.html``;
- :mod:`escrowlab.report.threats`: the threat-by-mode table of ``threat_model.md``,
  generated from ``results.json``.
"""
