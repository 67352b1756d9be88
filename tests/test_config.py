from __future__ import annotations

import pytest

from w2v_spark.config import Config, build_config, load_config
from w2v_spark.errors import UserError


def test_defaults_follow_gensim():
    t = Config().train
    assert (t.vector_size, t.window, t.negative, t.sample, t.alpha, t.min_alpha, t.epochs) == (
        100,
        5,
        5,
        1e-3,
        0.025,
        0.0001,
        5,
    )
    assert Config().vocab.min_count == 5


def test_profile_then_overrides_win_in_order(tmp_path):
    profile = tmp_path / "p.toml"
    profile.write_text("[train]\nepochs = 3\nalpha = 0.05\n[vocab]\nmin_count = 2\n")
    cfg = load_config(
        profile, ["train.epochs=7", "vocab.token_pattern=[a-z]+", "spark.conf={a='b'}"]
    )
    assert cfg.train.epochs == 7
    assert cfg.train.alpha == 0.05
    assert cfg.vocab.min_count == 2
    assert cfg.vocab.token_pattern == "[a-z]+"
    assert cfg.spark.conf == {"a": "b"}


def test_integer_is_accepted_for_a_float_key():
    assert build_config({"train": {"sample": 0}}).train.sample == 0.0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["train.epochz=3"], "unknown config key train.epochz"),
        (["training.epochs=3"], "unknown config section [training]"),
        (["train.epochs=three"], "config key train.epochs: expected int"),
        (["train.epochs=true"], "config key train.epochs: expected an integer"),
        (["vocab.lowercase=1"], "config key vocab.lowercase: expected true or false"),
        (["train.epochs"], "expected section.key=value"),
        (["train.averaging=median"], "train.averaging"),
        (["train.min_alpha=1.0"], "min_alpha"),
    ],
)
def test_bad_keys_and_values_name_the_key(overrides, message):
    with pytest.raises(UserError) as err:
        build_config({}, overrides)
    assert message in str(err.value)


def test_missing_profile_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_shipped_profiles_load():
    from tests.conftest import ROOT

    for profile in sorted((ROOT / "conf").glob("*.toml")):
        load_config(profile)
    wiki8 = load_config(ROOT / "conf" / "wiki8.toml")
    assert (wiki8.train.vector_size, wiki8.vocab.min_count, wiki8.train.epochs) == (100, 5, 5)


def test_resolved_config_round_trips_through_json():
    import json

    cfg = build_config({}, ["train.epochs=2"])
    assert build_config(json.loads(cfg.to_json())) == cfg


def test_an_example_query_without_operators_is_refused_before_any_work():
    # Checked with the config, not after training and evaluation.
    profile = {"evaluate": {"examples": ["king - man + woman", "paris france"]}}
    with pytest.raises(UserError) as err:
        build_config(profile, [])
    assert str(err.value) == (
        "evaluate.examples: query 'paris france': no + or - between 'paris' and 'france'; "
        'put + or - between words, e.g. "paris - france + italy"'
    )
