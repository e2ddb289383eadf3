"""The Weight Normalization training comparison on the digits: the test-time network, the sweep, its committed results."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gc_theory.datasets import load_digits
from gc_theory.experiments.weightnorm import (
    CONFIG,
    LEARNING_RATES,
    PAPER_TABLE_1,
    RESULTS_PATH,
    SEEDS,
    VARIANTS,
    format_sweep,
    from_json,
    load_results,
    make_cnn,
    save_results,
    sweep_table,
    to_json,
    weightnorm_experiment,
)
from gc_theory.models import BatchNorm, Conv2d, Linear, MeanOnlyBatchNorm, ReLU, Sequential, WeightNorm
from gc_theory.models.normalization import population_forward


def _bn_net() -> Sequential:
    return Sequential(WeightNorm(Conv2d(1, 3, 3, padding=1)), MeanOnlyBatchNorm(3), ReLU(), Conv2d(3, 2, 3), BatchNorm(2))


def test_population_forward_on_the_reference_itself_is_the_training_mode_output() -> None:
    net = _bn_net()
    params = net.init(np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((7, 1, 5, 5))
    train_mode, _ = net.forward(params, x)
    # x_hat = (x - mu)/sqrt(var + eps) against (x - mu)/sigma: the same numbers, one rounding apart per layer.
    np.testing.assert_allclose(population_forward(net, params, x, x), train_mode, rtol=1e-12, atol=1e-12)


def test_population_forward_predicts_each_example_on_its_own() -> None:
    """A test example's output does not depend on the other test examples (it would, with batch statistics)."""
    net = _bn_net()
    params = net.init(np.random.default_rng(0))
    rng = np.random.default_rng(2)
    reference, x = rng.standard_normal((20, 1, 5, 5)), rng.standard_normal((6, 1, 5, 5))
    together = population_forward(net, params, x, reference)
    alone = np.concatenate([population_forward(net, params, x[i : i + 1], reference) for i in range(6)])
    np.testing.assert_allclose(alone, together, rtol=1e-13, atol=1e-13)
    batch_mode, _ = net.forward(params, x)
    assert np.max(np.abs(batch_mode - together)) > 1e-2  # the control: the batch's own statistics differ


def test_population_forward_on_every_backend(xp, dtype: str) -> None:
    """Array-API code: the result stays in the namespace and dtype it was given, and matches NumPy's."""
    net = _bn_net()
    params = net.init(np.random.default_rng(0), xp, dtype)
    rng = np.random.default_rng(2)
    reference, x = rng.standard_normal((20, 1, 5, 5)), rng.standard_normal((6, 1, 5, 5))
    out = population_forward(net, params, xp.asarray(x, dtype=getattr(xp, dtype)), xp.asarray(reference, dtype=getattr(xp, dtype)))
    assert out.dtype == getattr(xp, dtype) and tuple(out.shape) == (6, 2, 3, 3)
    expected = population_forward(net, net.init(np.random.default_rng(0)), x, reference)
    # float32: a few roundings per layer on O(1) values, far below the 1e-4 allowed here.
    np.testing.assert_allclose(np.asarray(out, dtype=np.float64), expected, rtol=1e-4, atol=1e-4)


def test_population_forward_without_batch_statistics_is_the_forward_pass() -> None:
    net = Sequential(WeightNorm(Linear(4, 3)), ReLU(), Linear(3, 2))
    params = net.init(np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((5, 4))
    assert np.array_equal(population_forward(net, params, x, x[:2]), net.forward(params, x)[0])
    with pytest.raises(TypeError, match="net must be a Sequential"):
        population_forward([Linear(4, 3)], params, x, x)


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_variants_share_the_plain_weights(variant: str) -> None:
    """Every variant draws the same initial weights from a seed: WN's v is the plain network's w."""
    plain = make_cnn("plain").init(3)
    params = make_cnn(variant).init(3)
    weights = [params[k] for k in sorted(params) if k.endswith((".weight", ".v")) and params[k].ndim > 1]
    assert [w.shape for w in weights] == [plain[k].shape for k in sorted(plain) if k.endswith(".weight")]
    assert all(np.array_equal(a, b) for a, b in zip(weights, (plain[k] for k in sorted(plain) if k.endswith(".weight"))))
    assert any(k.endswith(".g") for k in params) == variant.startswith("WN")


def test_a_short_sweep_is_deterministic_and_tabulated() -> None:
    kwargs = dict(seeds=(0, 1), learning_rates=(0.03,), variants=("WN + mean-only BN", "BN"), epochs=1, show_progress=False)
    a, b = weightnorm_experiment(**kwargs), weightnorm_experiment(**kwargs)
    for key in a.runs:
        assert np.array_equal(a.curves(*key), b.curves(*key))
        assert np.array_equal(a.curves(*key, "test_accuracy"), b.curves(*key, "test_accuracy"))
    rows = sweep_table(a)
    assert [(r["variant"], r["learning_rate"], r["seeds"]) for r in rows] == [("WN + mean-only BN", 0.03, 2), ("BN", 0.03, 2)]
    assert all(r["test_error_min"] <= r["test_error_mean"] <= r["test_error_max"] < 50.0 for r in rows)
    text = format_sweep(rows)
    assert "| BN | " in text and f"{PAPER_TABLE_1['BN']:.2f}" in text and "plain" not in text
    assert from_json(json.loads(json.dumps(to_json(a)))).runs.keys() == a.runs.keys()


def test_results_are_saved_and_loaded_exactly(tmp_path) -> None:
    result = weightnorm_experiment(seeds=(4,), learning_rates=(0.3,), variants=("plain",), epochs=1, show_progress=False)
    back = load_results(save_results(result, tmp_path / "r.json"))
    assert np.array_equal(back.curves("plain", 0.3), result.curves("plain", 0.3))
    assert back.seeds == (4,) and back.epochs == 1 and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="variant"):
        make_cnn("LayerNorm")
    with pytest.raises(ValueError, match=r"learning_rates\[0\]"):
        weightnorm_experiment(learning_rates=(-0.1,))
    with pytest.raises(ValueError, match=r"seeds\[0\]"):
        weightnorm_experiment(seeds=(-1,))
    with pytest.raises(ValueError, match="seeds must not be empty"):
        weightnorm_experiment(seeds=())


def test_the_committed_results_are_the_full_sweep() -> None:
    result = load_results()
    assert result.seeds == SEEDS and result.learning_rates == LEARNING_RATES and result.variants == VARIANTS
    assert result.epochs == CONFIG["epochs"] and len(result.runs) == len(VARIANTS) * len(LEARNING_RATES)
    assert all(len(h) == len(SEEDS) for h in result.runs.values())


def _reproduces_the_committed_runs(variants: tuple[str, ...]) -> None:
    committed = load_results(RESULTS_PATH)
    lr = CONFIG["curve_rate"]
    fresh = weightnorm_experiment(seeds=(0,), learning_rates=(lr,), variants=variants, show_progress=False)
    for v in variants:
        # Same code, same seed: equal up to the BLAS's summation order on another machine.
        np.testing.assert_allclose(fresh.curves(v, lr)[0], committed.curves(v, lr)[0], rtol=1e-8)
        np.testing.assert_allclose(fresh.curves(v, lr, "test_accuracy")[0], committed.curves(v, lr, "test_accuracy")[0],
                                   atol=1.5 / load_digits(layout="image").x_test.shape[0])


def test_a_rerun_reproduces_the_committed_runs_of_one_seed() -> None:
    _reproduces_the_committed_runs(("WN + mean-only BN",))


@pytest.mark.slow
def test_a_rerun_reproduces_the_committed_runs_of_every_variant() -> None:
    _reproduces_the_committed_runs(VARIANTS)
