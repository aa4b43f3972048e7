"""Bad input to every command, as one matrix (hardening issue 16).

Each case runs one command line in a fresh folder and asserts the reliability contract
(DESIGN.md): exit code 2, one line on stderr that names the file, key, row or option and
what is expected, no traceback, nothing written (the folder is byte for byte as before,
no temporary file left), and an output that existed before is untouched.

Outputs that cannot be written are made with places that fail for root too (tests run as
root in CI, and root ignores permission bits): ``/sys`` (sysfs makes no regular files),
``/proc`` (procfs neither), a path whose parent is a regular file; the ``PermissionError``
branch itself is tested by making the temporary file fail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cjsim import _io
from cjsim.cli import app
from tests.helpers.cli import ECOMMERCE, TEXTBOOK, assert_one_line_error, edit

runner = CliRunner()
PRECIOUS = b"precious: made by the user\n"
ON_LINUX = sys.platform.startswith("linux") and Path("/sys/kernel").is_dir()


@dataclass
class Case:
    """A command line, the files it finds, and what its one-line error must name."""

    args: list[str]
    needles: tuple[str, ...]
    files: dict[str, str | bytes] = field(default_factory=dict)
    folders: tuple[str, ...] = ()
    existing: str | None = None  # an output that exists before the run (must stay as it is)
    linux: bool = False  # uses /sys or /proc
    absent: tuple[str, ...] = ()  # words the error must not contain (file contents)


def chain(n_stages: int) -> str:
    """A plain Markov chain through ``n_stages`` stages (the last is the conversion)."""
    rows = [f"transitions.s{i} = {{ s{i} = 0.5, s{i + 1} = 0.5 }}" for i in range(n_stages - 1)]
    return f'[chain]\nconversion = "s{n_stages - 1}"\n' + "\n".join(rows) + "\n"


def experiment(scenarios: str = "[scenarios.a]\n", head: str = "") -> str:
    return (
        f'name = "x"\nmodel = "ecommerce"\ncustomers = 100\nreplications = 2\n{head}\n{scenarios}'
    )


NESTED_ARRAYS = "a = " + "[" * 3000 + "]" * 3000 + "\n"
NESTED_TABLES = "x = " + "{ a = " * 40 + "1" + " }" * 40 + "\n"
HILL_NAN = edit("ec = 1.0\neffects.unaware", "ec = 1e-300\nslope = 1e6\neffects.unaware")
EFFECT_NAN = edit(
    "effects.unaware = { lift = 2.0 }", "effects.unaware = { lift = 2.0, ec = 1e-300, slope = 1e6 }"
)
ATTRIBUTE_ACCESS = edit(
    'conversion = "buys, for {value}"', 'conversion = "{value.__class__.__mro__}"'
)
MANY_CHANNELS = ECOMMERCE + "".join(f'\n[channels.c{i}]\ntype = "organic"\n' for i in range(1_000))
LATIN1 = edit("Online home & kitchen shop", "Caf\u00e9 shop").encode("latin-1")
LONG_VALUE = edit(
    'stages = ["unaware", "awareness",',
    'stages = "' + "x" * 5_000 + '"\nzz = ["unaware", "awareness",',
)
LOG_HEAD = "customer_id,time,event,channel\n"
LOG_EMPTY_ID = LOG_HEAD + "1,0,touch,search\n,0.5,touch,email\n1,1,conversion,\n"
LOG_COMMA = LOG_HEAD + "1,0,touch,search, brand\n1,1,conversion,\n"
PATHS_COMMA = "path,total_conversions,total_null\nsearch, brand > email,3,5\nsearch,1,9\n"
PATHS_COMMA_LATER = "path,total_conversions,total_null\nsearch,1,9\nsearch, brand > email,3,5\n"
PATHS_OK = "path,total_conversions,total_null\nsearch > email,3,5\nsearch,1,9\n"
GOOD_LOG = LOG_HEAD + "1,0,touch,search\n1,1,conversion,\n2,0,touch,email\n"
CJK_PATHS = "path,total_conversions,total_null\n\u4e2d\u6587 > \U0001f680,3,5\n\u4e2d\u6587,1,9\n"

BIG = "1000000000"
SIM = ["simulate", "ecommerce", "--customers", "10", "--out", "out.parquet"]
EVAL = ["evaluate", "textbook", "--customers", "10", "--out", "ev"]
OPT = ["optimise", "ecommerce", "--customers", "10"]

CASES: dict[str, Case] = {
    # -- validate: model files -----------------------------------------------------------
    "validate_dev_zero": Case(["validate", "/dev/zero"], ("/dev/zero", "larger than 4 MiB"),
                              linux=True),
    "validate_nested_arrays": Case(["validate", "m.toml"], ("m.toml", "nested too deeply"),
                                   {"m.toml": NESTED_ARRAYS}),
    "validate_nested_tables": Case(["validate", "m.toml"], ("m.toml", "x.a.a", "more than 32"),
                                   {"m.toml": NESTED_TABLES}),
    "validate_latin1": Case(["validate", "m.toml"], ("m.toml", "not UTF-8"), {"m.toml": LATIN1}),
    "validate_placeholder_attribute": Case(
        ["validate", "m.toml"], ("m.toml", "narrative.conversion", "{value.__class__.__mro__}",
                                 "not allowed", "{value}"), {"m.toml": ATTRIBUTE_ACCESS}),
    "validate_placeholder_field": Case(
        ["validate", "m.toml"], ("narrative.conversion", "{value.foo}", "not allowed"),
        {"m.toml": edit('conversion = "buys, for {value}"', 'conversion = "for {value.foo}"')}),
    "validate_placeholder_position": Case(
        ["validate", "m.toml"], ("narrative.conversion", "'{0}'"),
        {"m.toml": edit('conversion = "buys, for {value}"', 'conversion = "for {0}"')}),
    "validate_placeholder_spec": Case(
        ["validate", "m.toml"], ("narrative.conversion", "{value:>999999999}"),
        {"m.toml": edit('conversion = "buys, for {value}"',
                        'conversion = "for {value:>999999999}"')}),
    "validate_placeholder_unknown": Case(
        ["validate", "m.toml"], ("narrative.conversion", "{price}"),
        {"m.toml": edit('conversion = "buys, for {value}"', 'conversion = "for {price}"')}),
    "validate_hill_nan_channel": Case(["validate", "m.toml"],
                                      ("m.toml", "channels.video:", "NaN", "slope"),
                                      {"m.toml": HILL_NAN}),
    "validate_hill_nan_effect": Case(["validate", "m.toml"],
                                     ("channels.video.effects.unaware", "NaN"),
                                     {"m.toml": EFFECT_NAN}),
    "validate_33_stages": Case(["validate", "m.toml"], ("m.toml", "stages", "33 stages",
                                                        "at most 32"), {"m.toml": chain(33)}),
    "validate_1010_channels": Case(["validate", "m.toml"], ("channels", "1,010 channels",
                                                            "at most 1,000"),
                                   {"m.toml": MANY_CHANNELS}),
    "validate_horizon": Case(["validate", "m.toml"], ("horizon_days", "36500"),
                             {"m.toml": edit("horizon_days = 90", "horizon_days = 1e6")}),
    "validate_chain_horizon": Case(
        ["validate", "m.toml"], ("chain.horizon_steps", "36500"),
        {"m.toml": TEXTBOOK.replace("[chain]\n", "[chain]\nhorizon_steps = 99999999\n")}),
    "validate_steps": Case(["validate", "m.toml"], ("step_days", "900,000 steps", "100,000"),
                           {"m.toml": edit("step_days = 1.0", "step_days = 0.0001")}),
    "validate_network_degree": Case(["validate", "m.toml"], ("network.degree", "1000"),
                                    {"m.toml": ECOMMERCE + "\n[network]\ndegree = 1e9\n"}),
    "validate_long_value_is_cut": Case(["validate", "m.toml"], ("m.toml", "stages", "xxx..."),
                                       {"m.toml": LONG_VALUE}, absent=("x" * 100,)),
    "validate_passwd": Case(["validate", "/etc/passwd"], ("/etc/passwd", "not valid TOML"),
                            linux=True, absent=("root:", "/bin/")),
    "validate_folder_named_toml": Case(["validate", "m.toml"], ("m.toml", "is a folder"),
                                       folders=("m.toml",)),
    # -- validate: event logs --------------------------------------------------------------
    "validate_log_empty_customer": Case(["validate", "log.csv"],
                                        ("log.csv", "row 2", "customer_id is empty"),
                                        {"log.csv": LOG_EMPTY_ID}),
    "validate_log_comma_channel": Case(["validate", "log.csv"],
                                       ("log.csv", "row 1", "5 fields", "header has 4",
                                        "double quotes"), {"log.csv": LOG_COMMA}),
    # -- simulate ----------------------------------------------------------------------------
    "simulate_customers": Case(["simulate", "ecommerce", "--customers", BIG, "--out",
                                "out.parquet"], ("--customers 1,000,000,000", "100,000,000"),
                               existing="out.parquet"),
    "simulate_days": Case([*SIM, "--days", "1e6"], ("--days 1,000,000", "at most 36,500"),
                          existing="out.parquet"),
    "simulate_days_inf": Case([*SIM, "--days", "inf"], ("--days inf", "at most"),
                              existing="out.parquet"),
    "simulate_chunk_size": Case([*SIM, "--chunk-size", "10000000000"], ("--chunk-size",),
                                existing="out.parquet"),
    "simulate_out_sys": Case(["simulate", "textbook", "--out", "/sys/x.parquet"],
                             ("/sys/x.parquet", "cannot be written"), linux=True),
    "simulate_out_proc": Case(["simulate", "textbook", "--out", "/proc/x.csv"],
                              ("/proc/x.csv", "cannot be written"), linux=True),
    "simulate_parent_is_a_file": Case(["simulate", "textbook", "--out", "notes.txt/x.csv"],
                                      ("notes.txt/x.csv", "folder does not exist"),
                                      {"notes.txt": "my notes\n"}),
    "simulate_hill_nan": Case(["simulate", "m.toml", "--out", "out.parquet"],
                              ("m.toml", "channels.video", "NaN"), {"m.toml": HILL_NAN},
                              existing="out.parquet"),
    "simulate_placeholder": Case(["simulate", "m.toml", "--out", "out.csv"],
                                 ("m.toml", "narrative.conversion"),
                                 {"m.toml": ATTRIBUTE_ACCESS}, existing="out.csv"),
    "simulate_stages": Case(["simulate", "m.toml", "--out", "out.csv"], ("33 stages",),
                            {"m.toml": chain(33)}, existing="out.csv"),
    "simulate_dev_zero": Case(["simulate", "/dev/zero", "--out", "out.csv"],
                              ("/dev/zero", "larger than"), existing="out.csv", linux=True),
    # -- paths -------------------------------------------------------------------------------
    "paths_empty_customer": Case(["paths", "log.csv", "--out", "p.csv"],
                                 ("log.csv", "row 2", "customer_id is empty"),
                                 {"log.csv": LOG_EMPTY_ID}, existing="p.csv"),
    "paths_comma_channel": Case(["paths", "log.csv", "--out", "p.csv"],
                                ("log.csv", "row 1", "double quotes"), {"log.csv": LOG_COMMA},
                                existing="p.csv"),
    "paths_out_sys": Case(["paths", "log.csv", "--out", "/sys/p.csv"],
                          ("/sys/p.csv", "cannot be written"), {"log.csv": GOOD_LOG},
                          linux=True),
    "paths_out_proc": Case(["paths", "log.csv", "--out", "/proc/p.csv"],
                           ("/proc/p.csv", "cannot be written"), {"log.csv": GOOD_LOG},
                           linux=True),
    # -- attribute ---------------------------------------------------------------------------
    "attribute_resamples": Case(["attribute", "paths.csv", "--resamples", "1000000",
                                 "--out", "a.csv"], ("--resamples 1,000,000", "100,000"),
                                {"paths.csv": PATHS_OK}, existing="a.csv"),
    "attribute_comma_first_row": Case(["attribute", "paths.csv", "--out", "a.csv"],
                                      ("paths.csv", "row 1", "4 fields", "--delimiter ';'"),
                                      {"paths.csv": PATHS_COMMA}, existing="a.csv"),
    "attribute_comma_later_row": Case(["attribute", "paths.csv"],
                                      ("paths.csv", "row 2", "--delimiter ';'"),
                                      {"paths.csv": PATHS_COMMA_LATER}),
    "attribute_log_empty_customer": Case(["attribute", "log.csv", "--out", "a.json"],
                                         ("log.csv", "row 2", "customer_id"),
                                         {"log.csv": LOG_EMPTY_ID}, existing="a.json"),
    "attribute_log_comma": Case(["attribute", "log.csv"], ("log.csv", "row 1", "quotes"),
                                {"log.csv": LOG_COMMA}),
    "attribute_out_sys": Case(["attribute", "paths.csv", "--out", "/sys/a.csv"],
                              ("/sys/a.csv", "cannot be written"), {"paths.csv": PATHS_OK},
                              linux=True),
    # -- evaluate ----------------------------------------------------------------------------
    "evaluate_replications": Case(["evaluate", "textbook", "--replications", "100000",
                                   "--out", "ev"], ("--replications 100,000", "at most 10,000")),
    "evaluate_customers": Case(["evaluate", "textbook", "--customers", BIG, "--out", "ev"],
                               ("--customers 1,000,000,000",)),
    "evaluate_truth_customers": Case([*EVAL, "--truth-customers", BIG],
                                     ("--truth-customers 1,000,000,000",)),
    "evaluate_out_sys": Case(["evaluate", "textbook", "--out", "/sys/ev"],
                             ("/sys/ev", "cannot be written"), linux=True),
    "evaluate_hill_nan": Case(["evaluate", "m.toml", "--customers", "10", "--out", "ev"],
                              ("m.toml", "NaN"), {"m.toml": HILL_NAN}),
    # -- run (experiment files) --------------------------------------------------------------
    "run_scenario_traversal": Case(["run", "e.toml", "--out", "r"],
                                   ("e.toml", 'scenarios."../../x"', "not a plain name"),
                                   {"e.toml": experiment('[scenarios."../../x"]\n')}),
    "run_scenario_absolute": Case(["run", "e.toml", "--out", "r"],
                                  ("e.toml", 'scenarios."/tmp/x"', "not a plain name"),
                                  {"e.toml": experiment('[scenarios."/tmp/x"]\n')}),
    "run_scenario_dot": Case(["run", "e.toml", "--out", "r"],
                             ("scenarios.\".hidden\"", "not a plain name"),
                             {"e.toml": experiment('[scenarios.".hidden"]\n')}),
    "run_name_traversal": Case(["run", "e.toml"], ("e.toml", "name:", "'../x'"),
                               {"e.toml": experiment().replace('name = "x"', 'name = "../x"')}),
    "run_name_absolute": Case(["run", "e.toml"], ("e.toml", "name:", "'/tmp/cjsim-x'"),
                              {"e.toml": experiment().replace('name = "x"',
                                                              'name = "/tmp/cjsim-x"')}),
    "run_not_utf8": Case(["run", "e.toml", "--out", "r"], ("e.toml", "not UTF-8"),
                         {"e.toml": experiment("[scenarios.caf\xe9]\n").encode("latin-1")}),
    "run_folder_named_like_the_file": Case(["run", "e.toml", "--out", "r"],
                                           ("e.toml", "is a folder"), folders=("e.toml",)),
    "run_scenario_model_bad": Case(
        ["run", "e.toml", "--out", "r"],
        ("e.toml", "scenarios.b.model", "bad.toml", "chain.transitions.a", "sum to 1.1"),
        {"e.toml": experiment('[scenarios.a]\n[scenarios.b]\nmodel = "bad.toml"\n'),
         "bad.toml": '[chain]\nconversion = "p"\ntransitions.a = { a = 0.5, p = 0.6 }\n'}),
    "run_base_model_bad": Case(
        ["run", "e.toml", "--out", "r"], ("e.toml", "model:", "m.toml", "narrative.conversion"),
        {"e.toml": experiment().replace('"ecommerce"', '"m.toml"'), "m.toml": ATTRIBUTE_ACCESS}),
    "run_model_passwd": Case(["run", "e.toml", "--out", "r"],
                             ("e.toml", "model", "not a .toml file"),
                             {"e.toml": experiment().replace('"ecommerce"', '"/etc/passwd"')},
                             linux=True, absent=("root:", "/bin/")),
    "run_model_dev_zero": Case(["run", "e.toml", "--out", "r"],
                               ("e.toml", "model", "not a regular file"),
                               {"e.toml": experiment().replace('"ecommerce"', '"/dev/zero"')},
                               linux=True),
    "run_model_folder": Case(["run", "e.toml", "--out", "r"], ("e.toml", "not a regular file"),
                             {"e.toml": experiment().replace('"ecommerce"', '"w.toml"')},
                             folders=("w.toml",)),
    "run_model_missing": Case(["run", "e.toml", "--out", "r"],
                              ("e.toml", "model", "'nope.toml'", "neither a file"),
                              {"e.toml": experiment().replace('"ecommerce"', '"nope.toml"')}),
    "run_replications": Case(["run", "e.toml", "--out", "r"], ("e.toml", "replications",
                                                               "10000"),
                             {"e.toml": experiment().replace("replications = 2",
                                                             "replications = 100000")}),
    "run_customers": Case(["run", "e.toml", "--out", "r"], ("e.toml", "customers", "100000000"),
                          {"e.toml": experiment().replace("customers = 100",
                                                          "customers = 1000000000")}),
    "run_truth_customers": Case(["run", "e.toml", "--out", "r"], ("truth_customers",),
                                {"e.toml": experiment(head="truth_customers = 1000000000")}),
    "run_nested_set": Case(["run", "e.toml", "--out", "r"], ("e.toml", "nested"),
                           {"e.toml": experiment("[scenarios.a]\nset = " + "{ a = " * 40
                                                 + "1" + " }" * 40 + "\n")}),
    "run_dev_zero": Case(["run", "/dev/zero", "--out", "r"], ("/dev/zero", "larger than"),
                         linux=True),
    "run_scenario_horizon": Case(["run", "e.toml", "--out", "r"],
                                 ("e.toml", "scenarios.a", "36500"),
                                 {"e.toml": experiment("[scenarios.a]\nhorizon_days = 1e6\n")}),
    "run_scheduler_bad_address": Case(["run", "e.toml", "--out", "r", "--scheduler",
                                       "no-such-address"], ("--scheduler",),
                                      {"e.toml": experiment()}),
    "run_out_sys": Case(["run", "e.toml", "--out", "/sys/r"], ("/sys/r", "cannot be written"),
                        {"e.toml": experiment()}, linux=True),
    # -- optimise ----------------------------------------------------------------------------
    "optimise_target_cpa_inf": Case([*OPT, "--target-cpa", "inf"], ("--target-cpa inf",
                                                                    "finite")),
    "optimise_target_roas_inf": Case([*OPT, "--target-roas", "inf"], ("--target-roas inf",)),
    "optimise_max_change_negative": Case([*OPT, "--max-change", "-1", "--out", "o.csv"],
                                         ("--max-change -1", "fraction >= 0"),
                                         existing="o.csv"),
    "optimise_max_change_nan": Case([*OPT, "--max-change", "nan"], ("--max-change nan",)),
    "optimise_budget_inf": Case([*OPT, "--budget", "inf"], ("--budget inf",)),
    "optimise_customers": Case(["optimise", "ecommerce", "--customers", BIG],
                               ("--customers 1,000,000,000",)),
    "optimise_replications": Case([*OPT, "--replications", "1000000"],
                                  ("--replications 1,000,000",)),
    "optimise_out_sys": Case([*OPT, "--out", "/sys/o.csv"], ("/sys/o.csv", "cannot be written"),
                             linux=True),
    "optimise_figure_proc": Case([*OPT, "--figure", "/proc/o.png"],
                                 ("/proc/o.png", "cannot be written"), linux=True),
    # -- report ------------------------------------------------------------------------------
    "report_out_sys": Case(["report", "paths.csv", "--out", "/sys/r.html"],
                           ("/sys/r.html", "cannot be written"), {"paths.csv": PATHS_OK},
                           linux=True),
    "report_comma_paths": Case(["report", "paths.csv", "--out", "r.html"],
                               ("paths.csv", "row 1", "--delimiter ';'"),
                               {"paths.csv": PATHS_COMMA}, existing="r.html"),
    "report_log_empty_customer": Case(["report", "log.csv", "--out", "r.html"],
                                      ("log.csv", "row 2", "customer_id is empty"),
                                      {"log.csv": LOG_EMPTY_ID}, existing="r.html"),
    # -- funnel ------------------------------------------------------------------------------
    "funnel_figure_sys": Case(["funnel", "textbook", "--figure", "/sys/f.png"],
                              ("/sys/f.png", "cannot be written"), linux=True),
    "funnel_hill_nan": Case(["funnel", "m.toml", "--figure", "f.png"], ("m.toml", "NaN"),
                            {"m.toml": HILL_NAN}, existing="f.png"),
    "funnel_nested": Case(["funnel", "m.toml"], ("m.toml", "nested"),
                          {"m.toml": NESTED_TABLES}),
    # -- explain -----------------------------------------------------------------------------
    "explain_placeholder": Case(["explain", "m.toml"], ("m.toml", "narrative.conversion",
                                                        "not allowed"),
                                {"m.toml": ATTRIBUTE_ACCESS}),
    "explain_dev_zero": Case(["explain", "/dev/zero"], ("/dev/zero", "larger than"), linux=True),
    "explain_nested": Case(["explain", "m.toml"], ("m.toml", "nested too deeply"),
                           {"m.toml": NESTED_ARRAYS}),
    # -- demo --------------------------------------------------------------------------------
    "demo_customers": Case(["demo", "--customers", BIG, "--report", "d.html"],
                           ("--customers 1,000,000,000",), existing="d.html"),
    "demo_out_format": Case(["demo", "--out", "log.txt", "--report", "d.html"],
                            ("log.txt", ".parquet or .csv"), existing="d.html"),
    "demo_report_sys": Case(["demo", "--report", "/sys/d.html"],
                            ("/sys/d.html", "cannot be written"), linux=True),
    "demo_out_proc": Case(["demo", "--out", "/proc/d.parquet", "--report", "d.html"],
                          ("/proc/d.parquet", "cannot be written"), existing="d.html",
                          linux=True),
}  # fmt: skip


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) below ``folder``, hidden ones included."""
    return {
        str(p.relative_to(folder)): (None if p.is_dir() else p.read_bytes())
        for p in sorted(folder.rglob("*"))
    }


def invoke(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run the command line in this process; the result as a subprocess's."""
    res = runner.invoke(app, args)
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return subprocess.CompletedProcess(args, res.exit_code, res.stdout, res.stderr)


def check_bad_input(res: subprocess.CompletedProcess[str], case: Case) -> str:
    line = assert_one_line_error(res, *case.needles)
    assert "Traceback" not in res.stderr + res.stdout
    assert len(line) < 600, line  # one readable line, not a dump of the input
    for word in case.absent:
        assert word not in line, f"{word!r} echoed in {line!r}"
    return line


def test_the_matrix_is_large():
    assert len(CASES) >= 60
    commands = {c.args[0] for c in CASES.values()}
    assert commands >= {"simulate", "paths", "attribute", "evaluate", "run", "optimise",
                        "report", "funnel", "validate", "explain", "demo"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name, tmp_path, monkeypatch):
    case = CASES[name]
    if case.linux and not ON_LINUX:
        pytest.skip("uses /sys, /proc or /dev/zero")
    for rel, content in case.files.items():
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        (tmp_path / rel).write_bytes(data)
    for rel in case.folders:
        (tmp_path / rel).mkdir()
    if case.existing:
        (tmp_path / case.existing).write_bytes(PRECIOUS)
    before = snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    check_bad_input(invoke(case.args), case)
    assert snapshot(tmp_path) == before  # nothing written, nothing left, nothing changed
    if case.existing:
        assert (tmp_path / case.existing).read_bytes() == PRECIOUS


# -- outputs that cannot be written -------------------------------------------------------


def test_a_folder_without_write_permission(tmp_path, monkeypatch):
    """The PermissionError branch, for any user: the temporary file cannot be made."""
    (tmp_path / "log.csv").write_text(GOOD_LOG, encoding="utf-8")
    (tmp_path / "p.csv").write_bytes(PRECIOUS)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", kwargs.get("dir"))

    monkeypatch.setattr(_io.tempfile, "mkstemp", refuse)
    monkeypatch.chdir(tmp_path)
    res = invoke(["paths", "log.csv", "--out", "p.csv"])
    assert_one_line_error(res, "p.csv", "cannot be written (Permission denied)")
    assert (tmp_path / "p.csv").read_bytes() == PRECIOUS


def test_the_writer_itself_refuses_with_one_line(tmp_path, monkeypatch):
    """Past the early check (a folder that turns read-only during the run), the atomic
    writer raises the same error, and removes nothing but its own temporary file."""
    (tmp_path / "log.csv").write_text(GOOD_LOG, encoding="utf-8")
    monkeypatch.setattr(_io, "check_writable", lambda *a, **k: None)
    real = _io.tempfile.mkstemp
    calls = []

    def refuse(*args, **kwargs):
        calls.append(kwargs)
        raise PermissionError(13, "Permission denied", kwargs.get("dir"))

    monkeypatch.setattr(_io.tempfile, "mkstemp", refuse)
    monkeypatch.chdir(tmp_path)
    res = invoke(["paths", "log.csv", "--out", "p.csv"])
    monkeypatch.setattr(_io.tempfile, "mkstemp", real)
    assert calls, "the writer was reached"
    assert_one_line_error(res, "p.csv", "cannot be written (Permission denied)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root ignores permission bits")  # fmt: skip
def test_a_read_only_folder(tmp_path, monkeypatch):
    (tmp_path / "log.csv").write_text(GOOD_LOG, encoding="utf-8")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        monkeypatch.chdir(tmp_path)
        res = invoke(["paths", "log.csv", "--out", "ro/p.csv"])
        assert_one_line_error(res, "ro/p.csv", "cannot be written")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o700)


def test_a_full_disk_while_writing(tmp_path):
    """ENOSPC from the body of a write: one error naming the target, no temporary file."""
    from cjsim.errors import OutputError

    target = tmp_path / "out.csv"
    target.write_bytes(PRECIOUS)
    with pytest.raises(OutputError, match=r"out.csv: cannot be written \(No space left"):
        with _io.atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise OSError(28, "No space left on device")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    assert target.read_bytes() == PRECIOUS


def test_an_error_of_the_body_that_is_not_about_writing_passes_through(tmp_path):
    with pytest.raises(FileNotFoundError):
        with _io.atomic_path(tmp_path / "out.csv"):
            Path(tmp_path / "missing-input.csv").read_text()
    assert list(tmp_path.iterdir()) == []


# -- temporary files left by a killed run ------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporary_files_of_dead_processes_are_removed(tmp_path):
    target = tmp_path / "out.csv"
    dead = _dead_pid()
    stale = tmp_path / f".out.csv.{_io._HOST}-{dead}.abcd1234.tmp"
    running = tmp_path / f".out.csv.{_io._HOST}-{os.getpid()}.abcd1234.tmp"
    other_host = tmp_path / f".out.csv.0badc0de-{dead}.abcd1234.tmp"  # may still be writing
    old_other_host = tmp_path / f".out.csv.0badc0de-{dead}.efgh5678.tmp"
    other_target = tmp_path / f".other.csv.{_io._HOST}-{dead}.abcd1234.tmp"
    old_naming = tmp_path / ".out.csv.abcd1234.tmp"  # cjsim before the pid was in the name
    old_old_naming = tmp_path / ".out.csv.efgh5678.tmp"
    not_ours = tmp_path / ".out.csv.backup.tmp"
    files = (stale, running, other_host, old_other_host, other_target, old_naming,
             old_old_naming, not_ours)  # fmt: skip
    for p in files:
        p.write_bytes(b"half")
    week_ago = time.time() - _io.STALE_AFTER_SECONDS - 60
    for p in (old_other_host, old_old_naming, not_ours):
        os.utime(p, (week_ago, week_ago))
    _io.write_text_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    gone = {stale, old_other_host, old_old_naming}
    assert {p for p in files if not p.exists()} == gone


@pytest.mark.slow
@pytest.mark.xdist_group("signals")  # one at a time: each kills a run of its own
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_sigkilled_simulation_leaves_a_temporary_file_the_next_run_removes(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "cjsim", "simulate", "ecommerce", "--customers", "5000000",
         "--out", "big.parquet"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(tmp_path.glob(".big.parquet.*.tmp")):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    left = list(tmp_path.glob(".big.parquet.*.tmp"))
    assert left, "a SIGKILLed process cannot tidy up: its temporary file stays"
    res = subprocess.run(
        [sys.executable, "-m", "cjsim", "simulate", "textbook", "--customers", "10",
         "--out", "big.parquet"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.parquet"]


# -- small ones ----------------------------------------------------------------------------


def test_font_warnings_stay_off_stderr(tmp_path):
    """Channel names in scripts the default font lacks draw as boxes, silently."""
    (tmp_path / "paths.csv").write_text(CJK_PATHS, encoding="utf-8")
    res = subprocess.run(
        [sys.executable, "-m", "cjsim", "report", "paths.csv", "--out", "r.html"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    assert (tmp_path / "r.html").exists()


@pytest.mark.slow
def test_an_unreachable_scheduler_leaves_no_manifest(tmp_path):
    """Nothing listens on port 9 of this host: the run stops before its folder exists."""
    (tmp_path / "e.toml").write_text(experiment(), encoding="utf-8")
    res = subprocess.run(
        [sys.executable, "-m", "cjsim", "run", "e.toml", "--out", "r", "--scheduler",
         "tcp://127.0.0.1:9"],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "CJSIM_SCHEDULER_TIMEOUT": "1"},
    )  # fmt: skip
    assert_one_line_error(res, "--scheduler")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.toml"]


def test_a_shipped_experiment_runs_beside_its_results_folder(tmp_path, monkeypatch):
    """``cjsim run budget_shift`` writes ./budget_shift; the folder is not the experiment."""
    from cjsim.experiment.config import load_experiment, resolve_experiment

    (tmp_path / "budget_shift").mkdir()
    monkeypatch.chdir(tmp_path)
    assert load_experiment(resolve_experiment("budget_shift")).name == "budget_shift"


def test_the_documented_placeholder_still_works():
    from cjsim.model import parse_model

    m = parse_model(ECOMMERCE)
    assert m.narrative.conversion == "buys, for {value}"
    escaped = parse_model(edit('conversion = "buys, for {value}"', 'conversion = "{{x}} {value}"'))
    assert escaped.narrative.conversion.format(value="5") == "{x} 5"


def test_the_limits_page_and_docstring_agree():
    import cjsim.limits as limits

    for lim in limits.LIMITS:
        assert getattr(limits, lim.name) == lim.value
        assert f"``{lim.name}``" in (limits.__doc__ or "")
