"""Rich rendering of the studies: evaluations, experiments, budget splits and the demo."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from cjsim.cli.render import is_missing, out, print_wide


def print_evaluation(result: Any) -> None:
    """The truth table, the methods against it, and credited against caused conversions."""
    print_truth(result.truth)
    print_methods(result)
    print_absolute(result)


def print_truth(truth: Any) -> None:
    """Per channel: what it caused (incremental, Shapley, share) and its ROAS, with ±."""
    tf = truth.to_frame().set_index("channel")
    t = Table(
        title=f"Ground truth: {truth.customers:,} customers per counterfactual run, "
        f"{truth.settings['runs']} runs ("
        + ("exact Shapley" if truth.settings["exact_shapley"] else
           f"Shapley from {truth.settings['n_permutations']} sampled orders")
        + ")",
        title_justify="left",
        caption="± = 1.96 standard errors of the truth itself (paired runs, over blocks of "
        "1,024 customers); spend: delivered touches x their cost, all channels on",
        caption_justify="left",
    )  # fmt: skip
    for col in ("channel", "incremental", "Shapley", "true share", "spend", "incremental ROAS",
                "marginal ROAS"):  # fmt: skip
        t.add_column(col, justify="left" if col == "channel" else "right")

    def pm(x: Any, se: Any, fmt: str = ",.2f") -> str:
        if x is None or is_missing(x):
            return ""
        return f"{x:{fmt}}" + ("" if se is None or is_missing(se) else f" ± {1.96 * se:{fmt}}")

    for ch, r in tf.iterrows():
        t.add_row(
            str(ch),
            pm(r["incremental_conversions"], r["incremental_conversions_se"], ",.1f"),
            pm(r["shapley_conversions"], r["shapley_conversions_se"], ",.1f"),
            pm(r["shapley_share"], r.get("shapley_share_se"), ".1%"),
            pm(r.get("spend"), None, ",.0f"),
            pm(r.get("incremental_roas"), r.get("incremental_roas_se")),
            pm(r.get("marginal_roas"), r.get("marginal_roas_se")),
        )
    print_wide(t, 120)
    harmful = [str(c) for c, x in truth.shares("shapley").items() if x < 0]
    if harmful:
        out.print(
            f"note: {', '.join(harmful)} {'has' if len(harmful) == 1 else 'have'} a negative "
            "true share: switching it on costs conversions (the other shares add up to more "
            "than 100%)"
        )
    tot = truth.totals
    out.print(
        f"conversions: {tot['conversions_all_on']:,.0f} with every channel on, "
        f"{tot['conversions_all_off']:,.0f} with all off; the increments add up to "
        f"{tot['increments_minus_caused']:+,.0f} ± {1.96 * tot['increments_minus_caused_se']:,.0f}"
        " more than all channels caused together"
    )


def print_methods(result: Any) -> None:
    """Methods against the truth, best share error first, and the best budget move."""
    from cjsim.evaluate import TRUTH_DEFINITION

    reps = result.settings["replications"]

    def ci(x: Any, lo: Any, hi: Any, fmt: str) -> str:
        if is_missing(x):
            return ""
        return f"{x:{fmt}}" + ("" if is_missing(lo) else f" ± {(hi - lo) / 2:{fmt.lstrip('+')}}")

    s = Table(
        title=f"Methods against the truth over {reps} replication(s) of "
        f"{result.settings['customers']:,} customers, best share error first",
        title_justify="left",
        caption=f"{TRUTH_DEFINITION}; ± = 95% interval over replications incl. the truth's "
        "noise; ≈ best: not distinguishable from the best at 95%. Over-credit: conversions "
        "credited / conversions marketing caused. ROAS error: mean |attributed value / spend "
        "- true incremental ROAS| over paid channels. Budget move: from the method's "
        "lowest- to its highest-ROAS paid channel, gain per unit moved at the true marginal "
        "ROAS.",
        caption_justify="left",
    )
    for col in ("method", "share MAE", "vs best", "over-credit", "ROAS error",
                "budget move", "gain per unit", "worst channel"):  # fmt: skip
        s.add_column(col, justify="left" if col in ("method", "worst channel",
                                                    "budget move") else "right")  # fmt: skip
    bias = result.bias.set_index(["method", "channel"])
    moves = result.decisions.set_index("method") if not result.decisions.empty else None
    summary = result.summary
    ties = summary["tied_with_best"].fillna(False).astype(bool) if "tied_with_best" in summary \
        else summary["mae"] * 0 > 0  # fmt: skip
    for i, r in summary.iterrows():
        b = bias.loc[(r["method"], r["worst_channel"])]
        move, gain = "", ""
        if moves is not None and r["method"] in moves.index:
            d = moves.loc[r["method"]]
            move = f"{d['move_from']} → {d['move_to']}" if isinstance(d["move_from"], str) \
                else "no move"  # fmt: skip
            gain = ci(d["gain"], d["gain_low"], d["gain_high"], "+.2f")
            gain += f" ({d['verdict']})" if d["verdict"] in ("gains", "loses") else ""
        over = ci(r.get("over_credit"), r.get("over_credit_low"), r.get("over_credit_high"),
                  ".1f")  # fmt: skip
        s.add_row(
            r["method"],
            ci(r["mae"], r["mae_low"], r["mae_high"], ".3f"),
            "best" if i == 0 else "≈ best" if ties[i] else "",
            over.replace(" ±", "× ±", 1) if "±" in over else over + ("×" if over else ""),
            ci(r.get("roas_mae"), r.get("roas_mae_low"), r.get("roas_mae_high"), ".2f"),
            move,
            gain,
            f"{r['worst_channel']} {b['share']:.0%} vs {b['truth']:.0%}",
        )
    print_wide(s, 150)
    top = result.summary.iloc[0]
    if not is_missing(top.get("caused")):
        out.print(
            f"the methods credit {result.summary['conversions'].mean():,.0f} conversions per "
            f"replication; marketing caused {top['caused']:,.1f} ± {1.96 * top['caused_se']:,.1f}"
            " of them (the truth's Shapley total, scaled"
            + ("" if "caused_se" in result.truth.totals else
               "; ± an upper bound: the sum of the channels' intervals")
            + ")"
        )  # fmt: skip
    if moves is not None and isinstance(moves.loc["truth", "move_from"], str):
        d = moves.loc["truth"]
        out.print(
            f"the truth's best move: {d['move_from']} → {d['move_to']}, "
            f"{ci(d['gain'], d['gain_low'], d['gain_high'], '+.2f')} value per unit of spend "
            f"({'significant' if d['verdict'] == 'gains' else 'not significant'} at 95%)"
        )


def print_absolute(result: Any) -> None:
    """Credited conversions per channel against what each channel caused."""
    ab = result.absolute
    if ab.empty:
        return
    channels = list(dict.fromkeys(ab["channel"]))
    per = ab.set_index(["method", "channel"])
    a = Table(
        title="Credited conversions per channel against what each caused (truth scaled to "
        f"{result.settings['customers']:,} customers), mean over replications",
        title_justify="left",
        caption="(n×): credited / caused; (+n): credited minus caused where the truth is "
        "not clearly above 0. Intervals: absolute.csv.",
        caption_justify="left",
    )
    a.add_column("method")
    for ch in channels:
        a.add_column(ch, justify="right")
    first = per.xs(result.summary["method"].iloc[0], level="method").reindex(channels)
    a.add_row(
        "caused (truth)",
        *(f"{x:,.1f} ± {1.96 * se:,.1f}" for x, se in
          zip(first["truth_conversions"], first["truth_conversions_se"], strict=True)),
        style="bold",
    )  # fmt: skip
    for method in result.summary["method"]:
        rows = per.xs(method, level="method").reindex(channels)
        a.add_row(method, *(
            f"{c:,.0f} ({o:.1f}×)" if not is_missing(o) else f"{c:,.0f} ({e:+,.0f})"
            for c, o, e in zip(rows["conversions"], rows["over_credit"], rows["excess"],
                               strict=True)
        ))  # fmt: skip
    print_wide(a, 30 + 18 * len(channels))


def print_experiment(result: Any) -> None:
    spec = result.experiment.spec
    s = result.summary
    t = Table(
        title=f"{spec.name}: {spec.replications} paired replications of {spec.customers:,} "
        f"customers ({spec.engine} engine); difference to '{spec.baseline_name}'; 95% "
        "intervals, each on its own; p Holm-corrected over the tested differences (one "
        "that is the same in every replication is exact and has none)",
        title_justify="left",
    )
    t.add_column("scenario")
    t.add_column("metric")
    t.add_column("mean", justify="right")
    t.add_column("95% interval", justify="right")
    t.add_column("vs baseline", justify="right")
    t.add_column("95% interval", justify="right")
    t.add_column("p (Holm)", justify="right")

    def num(x: float) -> str:
        if x != x:
            return ""
        return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.2f}" if abs(x) >= 1 else f"{x:.4f}"

    def interval(lo: float, hi: float, sign: str = "") -> str:
        if lo != lo:  # one replication: no interval
            return ""
        return f"[{lo:{sign},.2f}, {hi:{sign},.2f}]" if sign else f"[{num(lo)}, {num(hi)}]"

    for r in s.itertuples(index=False):
        baseline = r.scenario == spec.baseline_name
        t.add_row(
            r.scenario, r.metric, num(r.mean), interval(r.low, r.high),
            "" if baseline else f"{r.diff:+,.2f}",
            "" if baseline else interval(r.diff_low, r.diff_high, "+"),
            "" if baseline or r.p_holm != r.p_holm else f"{r.p_holm:.3g}",
        )  # fmt: skip
    print_wide(t, 120)


def print_attribution_study(result: Any) -> None:
    """Methods x scenarios: MAE against the truth, or the mean credit shares without it."""
    if result.attribution is not None and not result.attribution.empty:
        a = result.attribution
        scenarios = list(dict.fromkeys(a["scenario"]))
        from cjsim.evaluate import TRUTH_DEFINITION

        t = Table(
            title="Attribution against the truth: mean absolute error of credit shares "
            "(95% interval over replications, incl. the truth's noise where the truth "
            "tasks give it; best per scenario in bold)",
            title_justify="left",
            caption=TRUTH_DEFINITION,
            caption_justify="left",
        )
        t.add_column("method")
        for sc in scenarios:
            t.add_column(sc, justify="right")
        best = a.loc[a.groupby("scenario", sort=False)["mae"].idxmin()]
        best_of = dict(zip(best["scenario"], best["method"], strict=True))
        order = a.groupby("method", sort=False)["mae"].mean().sort_values().index
        cells = a.set_index(["method", "scenario"])
        for m in order:
            row = []
            for sc in scenarios:
                r = cells.loc[(m, sc)]
                text = f"{r['mae']:.3f} [{r['mae_low']:.3f}, {r['mae_high']:.3f}]"
                row.append(f"[bold]{text}[/bold]" if best_of[sc] == m else text)
            t.add_row(m, *row)
        print_wide(t, 140)
    elif result.credit is not None and not result.credit.empty:
        c = result.credit
        totals = c.groupby(["scenario", "replication", "method"])["conversions"].transform("sum")
        share = c.assign(share=c["conversions"] / totals.where(totals > 0))
        mean = share.groupby(["scenario", "method", "channel"], sort=False)["share"].mean()
        for sc, g in mean.groupby(level="scenario", sort=False):
            table = g.droplevel("scenario").unstack("method")
            t = Table(title=f"{sc}: mean credit share per channel", title_justify="left")
            t.add_column("channel")
            for m in table.columns:
                t.add_column(str(m), justify="right")
            for ch, r in table.iterrows():
                t.add_row(str(ch), *(f"{v:.1%}" if v == v else "" for v in r))
            print_wide(t, 140)


def print_optimisation(opt: Any, model_name: str, metric: str, customers: int,
                       replications: int, target_roas: float | None,
                       target_cpa: float | None) -> None:  # fmt: skip
    """Current and proposed budgets, the validation, and a flexible total's spend."""
    per = "revenue" if metric == "revenue" else "conversions"
    t = Table(
        title=f"Daily budgets of {model_name}: current and proposed (maximising {metric}); "
        f"spend = what the budget pays for (delivered touches x their cost); marginal "
        f"{per} per unit of spend",
        title_justify="left",
    )
    for col in ("channel", "budget now", "proposed", "spend now", "proposed",
                "marginal now", "marginal proposed"):  # fmt: skip
        t.add_column(col, justify="left" if col == "channel" else "right")
    for r in opt.table().to_dict(orient="records"):
        t.add_row(
            str(r["channel"]), f"{r['current_budget']:,.0f}", f"{r['proposed_budget']:,.0f}",
            f"{r['current_spend']:,.0f}", f"{r['proposed_spend']:,.0f}",
            f"{r['marginal_now']:.3f}", f"{r['marginal_proposed']:.3f}",
        )  # fmt: skip
    print_wide(t, 100)
    v = {str(r["metric"]): r for r in opt.validation.to_dict(orient="records")}
    out.print(
        f"validated on {replications} paired replications of {customers:,} customers: "
        + "; ".join(
            f"{k} {v[k]['current']:,.1f} -> {v[k]['proposed']:,.1f} "
            f"({v[k]['diff']:+,.1f}, 95% [{v[k]['diff_low']:+,.1f}, {v[k]['diff_high']:+,.1f}])"
            for k in ("conversions", "revenue")
        )
    )
    if target_roas is not None or target_cpa is not None:
        split = opt.table()
        out.print(
            f"flexible total: spend {split['current_spend'].sum():,.0f} -> "
            f"{split['proposed_spend'].sum():,.0f} a day (each channel spends until its "
            + (f"marginal ROAS is {target_roas:g})" if target_roas is not None
               else f"marginal cost per conversion is {target_cpa:g})")
        )  # fmt: skip


def print_demo_truth(truth: Any) -> None:
    """Who gets the credit: each demo method's shares against the true ones."""
    methods = [c for c in truth.shares.columns if c != "truth"]
    t = Table(
        title=f"Who gets the credit? Shares of {truth.conversions:,.0f} conversions of "
        f"{truth.customers:,} customers, against the truth (what switching each channel off "
        "loses, same customers)",
        title_justify="left",
    )
    t.add_column("channel")
    t.add_column("truth", justify="right", style="bold")
    for name in methods:
        t.add_column(name, justify="right")
    for channel, row in truth.shares.iterrows():
        t.add_row(
            str(channel),
            f"{row['truth']:.0%}",
            *(f"{x:.0%}" for x in row[methods]),
        )
    mae = truth.mean_abs_error
    t.add_row("mean abs. error", "", *(f"{mae[n]:.3f}" for n in methods), style="italic")
    print_wide(t, 100)
    out.print(
        "Last touch credits the channels people meet when they have already decided; "
        "`cjsim evaluate MODEL --out DIR` scores every method with intervals and figures."
    )


def print_demo_experiment(experiment: Any) -> None:
    """What moving money changes: each scenario against the baseline, 95% intervals."""
    rows = {(r["scenario"], r["metric"]): r for r in experiment.summary.to_dict("records")}
    t = Table(
        title=f"What if we move money? {experiment.replications} paired replications of "
        f"{experiment.customers:,} customers per scenario: change against "
        f"'{experiment.baseline}' (95% intervals)",
        title_justify="left",
    )
    t.add_column("scenario")
    metrics = ("conversions", "revenue", "spend", "roas")
    for metric in metrics:
        t.add_column(metric, justify="right")
    for name in experiment.scenarios:
        if name == experiment.baseline:
            continue
        cells = []
        for metric in metrics:
            r = rows[(name, metric)]
            d, lo, hi = (float(r[k]) for k in ("diff", "diff_low", "diff_high"))
            fmt = "{:+,.2f}" if metric == "roas" else "{:+,.0f}"
            cells.append(f"{fmt.format(d)} [{fmt.format(lo)}, {fmt.format(hi)}]")
        t.add_row(name, *cells)
    print_wide(t, 110)
    out.print(
        "Every scenario runs the same customers with the same random numbers, so the "
        "differences are sharp; `cjsim run budget_shift` runs it in full, `cjsim optimise "
        "ecommerce` finds the best split."
    )
