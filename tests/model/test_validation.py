"""Model validation called directly (the command-line cases are in tests/cli/): each
error is a ModelError naming the key, the value and what is expected."""

from __future__ import annotations

import pytest

from cjsim.errors import ModelError, OptionError
from cjsim.model import load_model, parse_model, validate_model
from cjsim.model.overrides import known_channel

TINY = {
    "name": "tiny",
    "stages": ["unaware", "aware", "purchase", "lost"],
    "conversion": "purchase",
    "lost": "lost",
    "transitions": {
        "unaware": {"unaware": 0.9, "aware": 0.1},
        "aware": {"aware": 0.8, "purchase": 0.1, "lost": 0.1},
    },
}


def tiny(**changes):
    return {**TINY, **changes}


def test_a_valid_model_passes_and_keeps_its_values():
    model = validate_model(TINY)
    assert model.stages == TINY["stages"]
    assert model.absorbing_stages() == ["purchase", "lost"]


@pytest.mark.parametrize(("data", "key", "needles"), [
    (tiny(populaton=5), "populaton", ["unknown key", "expected one of", "population"]),
    (tiny(conversion="buy"), "conversion", ["buy"]),
    (tiny(transitions={"unaware": {"unaware": 0.5, "aware": 0.1}}), "transitions.unaware",
     ["sum to", "expected 1"]),
    (tiny(transitions={"unaware": {"nowhere": 1.0}}), "transitions.unaware", ["nowhere"]),
    (tiny(horizon_days="90"), "horizon_days", ["'90'"]),
    ({k: v for k, v in TINY.items() if k != "stages"}, "stages", ["required key is missing"]),
])  # fmt: skip
def test_errors_name_the_key_and_what_is_expected(data, key, needles):
    with pytest.raises(ModelError) as info:
        validate_model(data, source="m.toml")
    text = str(info.value)
    assert "m.toml" in text and key in text, text
    for needle in needles:
        assert needle in text, text


def test_the_plain_chain_form_becomes_a_journey_model():
    model = parse_model(
        "[chain]\nconversion = 'won'\n"
        "[chain.transitions]\nlead = { lead = 0.5, won = 0.2, lost = 0.3 }\n"
    )
    assert model.kind == "chain" and model.stages == ["lead", "won", "lost"]
    with pytest.raises(ModelError, match="must be absorbing"):
        parse_model(
            "[chain]\nconversion = 'won'\n[chain.transitions]\n"
            "lead = { won = 1.0 }\nwon = { lead = 1.0 }\n"
        )


def test_overrides_name_unknown_channels_and_organic_budgets():
    model = load_model("ecommerce")
    organic = next(c for c, ch in model.channels.items() if ch.type == "organic")
    with pytest.raises(OptionError, match="unknown channel 'tv'; expected one of"):
        known_channel(model, "--budget", "tv")
    with pytest.raises(OptionError, match="organic"):
        model.with_overrides(budgets={organic: 10.0})
    off = model.with_overrides(channels_off=[organic])
    assert off.channels[organic].rate == {}
