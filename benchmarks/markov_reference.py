"""An independent k-order Markov removal-effects solver, the yardstick for cjsim's (a script).

What a competent analyst writes in about a hundred lines of numpy, pandas and scipy,
sharing no code with cjsim: read a ChannelAttribution-format path table, cut every path
into windows of k touches (consecutive identical windows merged), count transitions,
and solve the absorbing chain directly for P(conversion), once for the full chain and
once with each channel removed (every transition into a window holding that channel goes
to null). Prints the removal effects as JSON, so that ``bench_attribution.py`` can both
time it against ``cjsim attribute`` and check that the two agree.

Usage::

    python benchmarks/markov_reference.py PATHS.csv --order 3
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla


def windows(path: list[str], k: int) -> list[tuple[str, ...]]:
    """The states of one path: windows of k touches, consecutive repeats merged."""
    if len(path) <= k:
        out = [tuple(path)]
    else:
        out = [tuple(path[i : i + k]) for i in range(len(path) - k + 1)]
    merged = [out[0]]
    for w in out[1:]:
        if w != merged[-1]:
            merged.append(w)
    return merged


def fit(frame: pd.DataFrame, k: int) -> tuple[list[str], dict[str, float], float]:
    """Channels, removal effect of each, and P(conversion) of the full chain."""
    conv = frame["total_conversions"].to_numpy(float)
    null = frame["total_null"].to_numpy(float)
    state_id: dict[tuple[str, ...], int] = {("(start)",): 0}
    frm, to, weight = [], [], []
    for path, c, n in zip(frame["path"].str.split(" > "), conv, null, strict=True):
        ids = [state_id.setdefault(w, len(state_id)) for w in windows(path, k)]
        chain = [0, *ids]
        frm += chain[:-1]
        to += chain[1:]
        weight += [c + n] * (len(chain) - 1)
        frm += [chain[-1], chain[-1]]
        to += [-1, -2]  # conversion, null
        weight += [c, n]
    S = len(state_id)
    frm_a, to_a, w_a = np.array(frm), np.array(to), np.array(weight)
    to_a = np.where(to_a == -1, S, np.where(to_a == -2, S + 1, to_a))
    out = np.bincount(frm_a, w_a, minlength=S + 2)
    prob = w_a / np.where(out[frm_a] > 0, out[frm_a], 1)
    inner = to_a < S
    states = [None] * S
    for w, i in state_id.items():
        states[i] = w
    channels = sorted({c for w in states[1:] for c in w})

    def p_conversion(keep: np.ndarray) -> float:
        m = inner & keep[frm_a] & keep[np.minimum(to_a, S - 1)]
        Q = sp.csc_matrix((prob[m], (frm_a[m], to_a[m])), shape=(S, S))
        A = (sp.identity(S, format="csc") - Q).T.tocsc()
        e0 = np.zeros(S)
        e0[0] = 1.0
        visits = spla.spsolve(A, e0)
        r = (to_a == S) & keep[frm_a]
        return float(prob[r] @ visits[frm_a[r]])

    full = p_conversion(np.ones(S, bool))
    effects = {}
    for ch in channels:
        keep = np.array([i == 0 or ch not in w for i, w in enumerate(states)])
        effects[ch] = 1.0 - p_conversion(keep) / full
    return channels, effects, full


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths")
    ap.add_argument("--order", type=int, default=1)
    args = ap.parse_args()
    frame = pd.read_csv(args.paths, keep_default_na=False)
    _, effects, full = fit(frame, args.order)
    total = frame["total_conversions"].sum()
    share = sum(effects.values())
    print(
        json.dumps(
            {
                "p_conversion": full,
                "removal_effects": effects,
                "conversions": {c: total * e / share for c, e in effects.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
