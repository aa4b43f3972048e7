"""cjsim explain: one customer's journey in plain words, true to the event log."""

from __future__ import annotations

import pytest

from cjsim.errors import ModelError
from cjsim.explain import explain, narrate
from cjsim.model import load_model, resolve_model, validate_model
from cjsim.simulate.markov import simulate_frame
from tests.helpers.cli import assert_one_line_error, cjsim


@pytest.fixture(scope="module")
def dentist():
    return load_model(resolve_model("dentist"))


def test_the_dentist_reads_like_a_story(dentist):
    story = explain(dentist, seed=0)
    text = story.text()
    assert story.converted
    for words in ("toothache", "looking for a dentist", "consultation", "treatment and pays"):
        assert words in text, text
    # every line but the first and last is dated, in time order
    days = [int(line.split(":")[0].split()[1].split("-")[0]) for line in story.lines[1:-1]]
    assert days == sorted(days)


def test_the_story_is_the_customers_log(dentist):
    """Customer n is the same person in a run of any size: the story follows the log."""
    events, _ = simulate_frame(dentist, 600, rng=5)
    cid = int(events.loc[events["event"] == "conversion", "customer_id"].min())
    story = explain(dentist, customer=cid, seed=5)  # a run of cid + 1 customers
    own = events[events["customer_id"] == cid]
    assert (own["event"] == "stage").sum() >= 5
    lines = [x.lower() for x in story.lines]
    paid = [x for x in lines if "has the treatment and pays" in x]
    assert len(paid) == (own["event"] == "conversion").sum()
    entered = [x for x in lines[2:] if any(w in x for w in (
        "toothache", "looking for a dentist", "consultation:", "comes back", "follow-up",
        "loyal patient", "tell people", "another dentist"))]  # fmt: skip
    assert len(entered) == (own["event"] == "stage").sum() - 1  # the first is the start
    assert story == narrate(dentist, events, cid, hours=False)


def test_without_words_the_names_and_descriptions_are_used():
    model = load_model(resolve_model("trap_null_channel"))
    story = explain(model, seed=1)
    text = story.text().lower()
    assert "meets banner" in text and "moves to the stage" in text


def test_narrative_keys_are_checked(dentist):
    data = dentist.model_dump(mode="python", exclude_none=True)
    data["narrative"]["touches"]["radio"] = "hears an ad on the radio"
    with pytest.raises(ModelError, match=r"narrative\.touches\.radio.*unknown channel"):
        validate_model(data)
    same = dentist.model_dump(mode="python", exclude_none=True)
    same["narrative"]["start"] = "other words"
    assert validate_model(same).content_hash() == dentist.content_hash()


def test_cli_explain(tmp_path):
    res = cjsim("explain", "dentist", "--seed", "0", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "gets a toothache" in res.stdout.lower() and "chosen" in res.stdout
    res = cjsim("explain", "dentist", "--customer", "3", "--engine", "agents", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "Customer 3" in res.stdout and ":" in res.stdout
    assert_one_line_error(cjsim("explain", "dentist", "--customer", "-1", cwd=tmp_path),
                          "--customer -1")  # fmt: skip
    assert_one_line_error(cjsim("explain", "dentist", "--engine", "abm", cwd=tmp_path),
                          "--engine 'abm'")  # fmt: skip


def test_bad_narrative_and_customer_numbers(dentist):
    data = dentist.model_dump(mode="python", exclude_none=True)
    data["narrative"]["conversion"] = "pays {price}"
    with pytest.raises(ModelError, match=r"narrative\.conversion.*placeholder \{value\}"):
        validate_model(data)
    from cjsim.errors import OptionError

    with pytest.raises(OptionError, match="from 0 to 1,000,000"):
        explain(dentist, customer=10_000_000)


def test_the_agent_engine_tells_the_same_story_however_the_customer_is_named(dentist):
    """Queues and contacts depend on who else is simulated: a fixed-size run for both."""
    chosen = explain(dentist, seed=2, engine="agents")
    named = explain(dentist, customer=chosen.customer, seed=2, engine="agents")
    assert named.lines == chosen.lines
