"""Fingerprints of everything cjsim writes, for refactoring with behaviour unchanged.

Runs the `cjsim` command (fresh processes of the cjsim this script imports) over every
shipped model and experiment at small sizes -- both engines' event logs (Parquet and
CSV), funnels, path tables, attribution results with and without intervals, evaluations,
explanations, experiment runs, a budget split, reports and the demo -- and records the
sha256 of each output. Run it before a change and after it::

    python benchmarks/fingerprints.py --out before.json
    python benchmarks/fingerprints.py --out after.json --compare before.json

``--compare`` lists every output whose bytes changed and exits 1 if any did. Figures in
HTML reports are compared as written (matplotlib's SVG output carries no date here);
fields that say how long something took are blanked before hashing.

A script, not a test: a full run takes a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cjsim

PACKAGE = Path(cjsim.__file__).resolve().parent
ROOT = PACKAGE.parent
MODELS = sorted(p.stem for p in (PACKAGE / "models").glob("*.toml"))
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.toml"))

# Fields that measure wall time, or name the temporary folder, differ between two runs
# of the same code; they are blanked before hashing.
_VOLATILE = re.compile(
    r'("?(?:elapsed|seconds|wall|started|finished|created|duration|runtime)[a-z_]*"?\s*[:=]\s*)'
    r'("[^"]*"|[-+0-9.eE]+)'
)
_TIMES = re.compile(r"\b\d+(?:\.\d+)? ?(?:s|ms|seconds|minutes?)\b")
_DATES = re.compile(
    r"\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?: ?UTC|Z|[+-]\d\d:?\d\d)?"
)


def _cjsim(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run ``cjsim ARGS`` in a fresh process of the imported cjsim; (exit code, stdout)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="120", NO_COLOR="1", TERM="dumb")
    done = subprocess.run(
        [sys.executable, "-m", "cjsim", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def _normalise(text: str, folder: Path) -> str:
    """TEXT without what differs between two runs of the same code: the temporary
    folder (FOLDER's parent holds every case), wall times and dates."""
    text = text.replace(str(folder.parent), "<tmp>")
    text = _VOLATILE.sub(lambda m: m.group(1) + "0", text)
    text = _DATES.sub("<date>", text)
    return _TIMES.sub("<t>", text)


def _digest(path: Path, folder: Path) -> str:
    if path.suffix in {".json", ".csv", ".html", ".txt", ".md", ".toml", ".svg"}:
        data = _normalise(path.read_text(encoding="utf-8"), folder).encode()
    else:
        data = path.read_bytes()
    return hashlib.sha256(data).hexdigest()


def _outputs(folder: Path) -> dict[str, str]:
    """sha256 of every file under FOLDER, keyed by its relative path."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith((".", "~")) and "lock" not in path.name:
            found[str(path.relative_to(folder))] = _digest(path, folder)
    return found


def _case(name: str, steps: list[list[str]], base: Path) -> tuple[str, dict[str, str]]:
    """Run STEPS in a folder of their own; the hashes of their output and files."""
    folder = base / name.replace("/", "_")
    folder.mkdir(parents=True)
    record = {}
    for i, args in enumerate(steps):
        code, out = _cjsim(args, folder)
        shown = " ".join(args).replace(str(base), "<tmp>")
        record[f"step{i}:{shown}"] = (
            f"exit {code} " + hashlib.sha256(_normalise(out, folder).encode()).hexdigest()
        )
    record.update(_outputs(folder))
    return name, record


def _small_experiment(path: Path, folder: Path) -> Path:
    """A copy of an experiment file at a tenth of its customers and 3 replications."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^customers\s*=.*$", "customers = 3_000", text)
    text = re.sub(r"(?m)^replications\s*=.*$", "replications = 3", text)
    text = re.sub(r"(?m)^truth_customers\s*=.*$", "truth_customers = 6_000", text)
    text = re.sub(r'(?m)^model\s*=\s*"(?!\w+")', f'model = "{path.parent}/', text)
    dest = folder / path.name
    dest.write_text(text, encoding="utf-8")
    return dest


def cases(base: Path) -> list[tuple[str, list[list[str]]]]:
    """Every case: a name and the cjsim commands it runs."""
    found = []
    for model in MODELS:
        markov = ["simulate", model, "--customers", "3000", "--seed", "3"]
        agents = ["simulate", model, "--engine", "agents", "--customers", "400", "--seed", "5"]
        found.append(
            (
                f"{model}/markov",
                [
                    [*markov, "--out", "e.parquet"],
                    [*markov, "--out", "e.csv"],
                    ["paths", "e.parquet", "--out", "p.csv"],
                    ["attribute", "e.parquet", "--ci", "0", "--out", "a.json"],
                    ["attribute", "p.csv", "--order", "2", "--ci", "0", "--out", "a2.csv"],
                    ["funnel", model, "--json"],
                    ["explain", model, "--seed", "3"],
                ],
            )
        )
        found.append(
            (
                f"{model}/agents",
                [
                    [*agents, "--out", "e.parquet"],
                    ["attribute", "e.parquet", "--ci", "0", "--out", "a.json"],
                    ["explain", model, "--seed", "5", "--engine", "agents"],
                ],
            )
        )
    found.append(
        (
            "ecommerce/large",
            [
                [
                    "simulate",
                    "ecommerce",
                    "--customers",
                    "70000",
                    "--seed",
                    "12345",
                    "--budget",
                    "video=150",
                    "--off",
                    "email",
                    "--out",
                    "e.parquet",
                ],
                ["attribute", "e.parquet", "--resamples", "50", "--seed", "2", "--out", "a.json"],
                ["attribute", "e.parquet", "--order", "3", "--resamples", "40", "--out", "a3.csv"],
            ],
        )
    )
    for model in ("ecommerce", "trap_brand_search", "dentist"):
        found.append(
            (
                f"{model}/evaluate",
                [
                    [
                        "evaluate",
                        model,
                        "--customers",
                        "3000",
                        "--replications",
                        "2",
                        "--seed",
                        "4",
                        "--workers",
                        "1",
                        "--out",
                        "ev",
                    ],
                ],
            )
        )
    found.append(
        (
            "ecommerce/optimize",
            [
                [
                    "optimise",
                    "ecommerce",
                    "--customers",
                    "2000",
                    "--replications",
                    "2",
                    "--seed",
                    "1",
                    "--workers",
                    "1",
                    "--out",
                    "split.csv",
                    "--report",
                    "opt.html",
                ],
            ],
        )
    )
    exp_folder = base / "_experiments"
    exp_folder.mkdir()
    for path in EXPERIMENTS:
        small = _small_experiment(path, exp_folder)
        found.append(
            (
                f"experiment/{path.stem}",
                [
                    ["run", str(small), "--workers", "1", "--out", "res"],
                    ["report", "res", "--out", "report.html"],
                ],
            )
        )
    found.append(("demo", [["demo", "--customers", "6000", "--report", "demo.html"]]))
    commands = ["validate", "simulate", "funnel", "paths", "attribute", "evaluate", "run",
                "optimise", "explain", "report", "demo"]  # fmt: skip
    found.append(("help", [["--help"], ["--version"]] + [[c, "--help"] for c in commands]))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file of fingerprints")
    parser.add_argument("--compare", type=Path, help="earlier fingerprints to compare with")
    parser.add_argument("--only", help="run only cases whose name contains this")
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cjsim-fp-") as tmp:
        base = Path(tmp)
        todo = [c for c in cases(base) if not args.only or args.only in c[0]]
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            found = dict(pool.map(lambda c: _case(c[0], c[1], base), todo))
    record = {"cjsim": str(PACKAGE), "cases": found}
    args.out.write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
    total = sum(len(v) for v in found.values())
    print(
        f"{total} fingerprints of {len(found)} cases in {time.perf_counter() - start:.0f} s "
        f"-> {args.out}"
    )
    for case, rec in found.items():  # a refusal (exit 2) is an output like any other
        for key, value in rec.items():
            if key.startswith("step") and not value.startswith("exit 0"):
                print(f"note: {case}: {key} exited with {value.split()[1]}")
    if not args.compare:
        return 0
    before = json.loads(args.compare.read_text(encoding="utf-8"))["cases"]
    changed = []
    for case in sorted(set(before) | set(found)):
        if args.only and args.only not in case:
            continue
        old, new = before.get(case, {}), found.get(case, {})
        changed += [f"{case}: {k}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    for line in changed:
        print("CHANGED", line)
    print("identical" if not changed else f"{len(changed)} outputs differ")
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
