"""Rich rendering of the measurement studies: lift tests, MMMs against the truth, and
attribution error as tracking loses more."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from cjsim.cli.render import is_missing, out, print_wide


def print_lift(study: Any) -> None:
    """A lift study: the truth, the mean estimate, coverage and power of the design."""
    s, truth, cfg = study.summary, study.truth, study.settings
    t = Table(
        title=f"Holdout test of {cfg['channel']} ({cfg['model']}): {cfg['n_exposed']:,} exposed, "
        f"{cfg['n_holdout']:,} held out, {cfg['replications']} tests",
        title_justify="left",
        caption="per 1,000 customers; truth: everyone with the channel on minus everyone "
        "with it off (counterfactual runs, CRN), ± 1.96 standard errors",
        caption_justify="left",
    )
    for col in ("", "truth", "mean estimate", "interval over tests"):
        t.add_column(col, justify="left" if not col else "right")
    for label, key, scale in (("conversions", "conversions", 1000), ("revenue", "value", 1000),
                              ("incremental ROAS", "iroas", 1)):  # fmt: skip
        est = (
            "conversions_lift" if key == "conversions" else "value_lift" if key == "value" else key
        )
        t.add_row(
            label,
            f"{truth[key] * scale:,.3f} ± {1.96 * truth[key + '_se'] * scale:,.3f}",
            f"{s[est] * scale:,.3f}",
            f"[{s[est + '_low'] * scale:,.3f}, {s[est + '_high'] * scale:,.3f}]",
        )
    print_wide(t, 100)
    level = cfg["level"]
    out.print(
        f"coverage of the {level:.0%} intervals: {s['coverage']:.0%} "
        f"[{s['coverage_low']:.0%}, {s['coverage_high']:.0%}] of tests hold the true lift; "
        f"power: {s['power']:.0%} find a lift (expected {s['expected_power']:.0%}); "
        f"minimum detectable lift at 80% power: {1000 * s['mdl']:,.3f} conversions per 1,000"
    )


def print_mmm(result: Any) -> None:
    """MMM estimates of ROAS per channel against the true incremental ROAS."""
    cfg = result.settings
    t = Table(
        title=f"ROAS per channel: MMMs against the truth ({cfg['model']}, {cfg['periods']} "
        f"periods of a {cfg['freq']}, R² of the baseline {cfg['r2']:.2f})",
        title_justify="left",
        caption="truth: incremental value over spend, all on against the channel off "
        "(counterfactual runs, CRN), ± 1.96 standard errors",
        caption_justify="left",
    )
    for col in ("source", "channel", "true ROAS", "estimate", "interval", "error"):
        t.add_column(col, justify="left" if col in ("source", "channel") else "right")
    for r in result.table.itertuples(index=False):
        band = "" if is_missing(r.roas_low) else f"[{r.roas_low:,.2f}, {r.roas_high:,.2f}]"
        t.add_row(r.source, r.channel, f"{r.true_roas:,.2f} ± {1.96 * r.true_roas_se:,.2f}",
                  f"{r.roas:,.2f}", band, f"{r.error:+,.2f}")  # fmt: skip
    print_wide(t, 110)
    for r in result.summary.itertuples(index=False):
        cover = "" if is_missing(r.coverage) else f", intervals hold the truth for {r.coverage:.0%}"
        out.print(f"{r.source}: mean absolute ROAS error {r.roas_mae:,.2f}{cover}")


def print_loss_sweep(sweep: Any) -> None:
    """Each method's share error (mean absolute, with interval) at each loss level."""
    table = sweep.table
    t = Table(
        title=f"Share error as tracking loses more (0: everything recorded, 1: "
        f"{sweep.profile.name})",
        title_justify="left",
        caption="mean absolute error of credit shares against the true shares, with its "
        "interval over replications; the same logs and draws at every level",
        caption_justify="left",
    )
    t.add_column("method")
    for x in sweep.levels:
        t.add_column(f"{x:g}", justify="right")
    first = table[table["level"] == sweep.levels[0]].sort_values("mae")["method"]
    for method in first:
        rows = table[table["method"] == method].set_index("level")
        t.add_row(
            str(method),
            *(
                f"{rows.at[x, 'mae']:.3f} [{rows.at[x, 'mae_low']:.3f}, "
                f"{rows.at[x, 'mae_high']:.3f}]"
                for x in sweep.levels
            ),
        )
    print_wide(t, 14 + 22 * len(sweep.levels))


GEO_DESIGNS = {
    "go-dark": "Go-dark test of {channel}",
    "pull-back": "Pull-back test of {channel} (budget x {multiple:g})",
    "heavy-up": "Heavy-up test of {channel} (budget x {multiple:g})",
}


def print_geo_lift(study: Any) -> None:
    """A geo study: per estimator, mean estimate against the truth, bias, coverage, power."""
    cfg = study.settings
    t = Table(
        title=f"{GEO_DESIGNS[cfg['design']].format(**cfg)} in half of {len(cfg['geos'])} geos "
        f"({cfg['model']}), {cfg['replications']} tests",
        title_justify="left",
        caption=f"{cfg['units']} (the higher budget's gain over the lower); truth: the "
        "treated geos again at their own budget, same random numbers; MDE: the smallest "
        "effect the design finds 4 times in 5; iROAS: per unit of the spend the test changed",
        caption_justify="left",
    )
    for col in ("estimator", "mean estimate", "mean truth", "bias", "RMSE", "coverage", "power",
                "MDE", "iROAS (true)"):  # fmt: skip
        t.add_column(col, justify="left" if col == "estimator" else "right")
    for r in study.summary.itertuples(index=False):
        t.add_row(r.estimator, f"{r.mean_estimate:,.2f}", f"{r.mean_truth:,.2f}",
                  f"{r.bias:+,.2f} [{r.bias_low:+,.2f}, {r.bias_high:+,.2f}]", f"{r.rmse:,.2f}",
                  f"{r.coverage:.0%}", f"{r.power:.0%}", f"{r.mde:,.2f}",
                  f"{r.iroas:,.3g} ({r.true_iroas:,.3g})")  # fmt: skip
    print_wide(t, 110)


def print_geo_power(table: Any, settings: dict[str, Any]) -> None:
    """A power table: per design and estimator, the true effect, power, MDE, coverage."""
    t = Table(
        title=f"Power of geo tests of {settings['channel']} ({settings['model']}, "
        f"{settings['customers']:,} customers, {settings['replications']} tests a design)",
        title_justify="left",
        caption=f"{settings['units']}; power: the share of tests whose interval excludes 0; "
        "MDE: the smallest effect found 4 times in 5; every design on the same customers",
        caption_justify="left",
    )
    for col in ("design", "start day", "days", "estimator", "true effect", "power", "MDE",
                "coverage"):  # fmt: skip
        t.add_column(col, justify="left" if col in ("design", "estimator") else "right")
    for r in table.itertuples(index=False):
        name = r.design if r.multiple == 0 else f"{r.design} x{r.multiple:g}"
        t.add_row(name, str(r.start_day), str(r.test_days), r.estimator,
                  f"{r.mean_truth:,.2f}", f"{r.power:.0%}", f"{r.mde:,.2f}",
                  f"{r.coverage:.0%}")  # fmt: skip
    print_wide(t, 110)
