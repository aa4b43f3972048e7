"""The ``cjsim`` command line.

One module per group of commands, the option checks they share in :mod:`.options`, and
all terminal output in :mod:`.render`, :mod:`.render_studies` and :mod:`.render_measure`:

* :mod:`.app`: the Typer application, global options, errors (exit 2) and signals;
* :mod:`.model`: ``validate``, ``funnel``, ``explain``;
* :mod:`.simulate`: ``simulate`` (either engine);
* :mod:`.measure`: ``observe`` (what a tracking system records of a log), ``panel``
  (aggregates for marketing-mix models) and ``lift`` (holdout tests against the truth);
* :mod:`.attribute`: ``paths``, ``attribute``, ``report``;
* :mod:`.experiment`: ``evaluate``, ``run``, ``optimise`` (``optimize`` is
  accepted too);
* :mod:`.demo`: ``demo`` (the pipeline itself is :func:`cjsim.demo.run`).

Command modules import the library inside each command, so ``cjsim --help`` and
``cjsim attribute`` start without pandas, matplotlib or the engines.
"""

from __future__ import annotations

from cjsim.cli import attribute, demo, experiment, measure, model, simulate
from cjsim.cli.app import app, main, register, register_alias

__all__ = ["app", "main"]

register(  # in the order `cjsim --help` lists them
    model.validate,
    simulate.simulate,
    model.funnel,
    attribute.paths,
    attribute.attribute,
    experiment.evaluate,
    experiment.run,
    experiment.optimise,
    measure.observe,
    measure.panel,
    measure.lift,
    model.explain,
    attribute.report,
    demo.demo,
)
# one spelling, optimise; the American one, which earlier versions used, still works
register_alias("optimize", experiment.optimise)
