"""Training loops: deterministic for a seed, curves of the right length, a loss that goes down."""

from __future__ import annotations

import numpy as np
import pytest

from gc_theory import optim
from gc_theory.gc.centralization import centralize
from gc_theory.problems.invariance import invariance_measurement
from gc_theory.datasets import load_digits
from gc_theory.models import mlp
from gc_theory.problems import shift_response
from gc_theory.experiments.gc import digits_experiment, format_summary, make_model, make_optimizer, summary_table
from gc_theory.experiments.training import train
from gc_theory.experiments.training import full_batch_trajectory


def test_train_is_deterministic_and_learns() -> None:
    data = load_digits()
    a = train(make_model("MLP"), data, make_optimizer("SGD-momentum", "gradient"), epochs=2, batch_size=128, seed=3)
    b = train(make_model("MLP"), data, make_optimizer("SGD-momentum", "gradient"), epochs=2, batch_size=128, seed=3)
    assert a.train_loss.shape == (3,) and np.array_equal(a.train_loss, b.train_loss)
    assert a.train_loss[-1] < 0.5 * a.train_loss[0] and a.test_accuracy[-1] > 0.8


def test_experiment_table_pairs_gc_with_its_baseline() -> None:
    result = digits_experiment(seeds=(0, 1), epochs=1, models=("MLP",), optimizers=("Adam",))
    rows = summary_table(result)
    assert [(r["model"], r["optimizer"], r["GC"]) for r in rows] == [("MLP", "Adam", False), ("MLP", "Adam", True)]
    assert 0 <= rows[1]["gc_wins"] <= 2 and "gc_wins" not in rows[0]
    assert result.curves("MLP", "Adam", True).shape == (2, 2)
    assert "| MLP | Adam | yes |" in format_summary(rows)


def test_unknown_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="optimizer must be one of"):
        make_optimizer("Lion", None)
    with pytest.raises(ValueError, match="model must be"):
        make_model("ResNet")


@pytest.mark.parametrize("opt_kwargs", [{"momentum": 0.0}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True}])
def test_invariance_on_digits_with_a_schedule(opt_kwargs: dict) -> None:
    """The identity holds for any learning rate schedule: here a step decay on real data."""
    data = load_digits()
    net = mlp([64, 16, 10])
    params = net.init(2)
    lr = optim.step_decay(0.2, 10, 0.5)  # the bound below uses the largest rate, 0.2
    batch = (data.x_train[:200], data.y_train[:200])
    iterates, gradients = full_batch_trajectory(optim.SGD(lr=lr, gc="gradient", **opt_kwargs), params, net, batch, 30)
    m = invariance_measurement(iterates, gradients, "0.weight", data.x_test[:5], 2.0, lr=0.2, momentum=opt_kwargs["momentum"])
    assert m.passed, m
    plain, _ = full_batch_trajectory(optim.SGD(lr=0.1, **opt_kwargs), params, net, batch, 30)
    moved = np.max(np.abs(shift_response(plain[-1]["0.weight"], data.x_test[:5], 2.0) - 2.0 * params["0.weight"].sum(axis=1)))
    assert moved > 1e-3


def test_zero_mean_initialisation_gives_zero_response() -> None:
    net = mlp([8, 4, 3])
    params = {k: centralize(v) if v.ndim > 1 else v for k, v in net.init(0).items()}
    x = np.random.default_rng(0).standard_normal((6, 8))
    iterates, _ = full_batch_trajectory(optim.SGD(lr=0.1, momentum=0.9, gc="gradient"), params, net, (x, np.arange(6) % 3), 20)
    assert np.max(np.abs(shift_response(iterates[-1]["0.weight"], x, 5.0))) < 1e-13


def test_a_negative_seed_is_refused_by_name() -> None:
    data = load_digits()
    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        train(make_model("MLP"), data, make_optimizer("Adam", None), epochs=1, batch_size=128, seed=-1)
    with pytest.raises(ValueError, match=r"seeds\[1\] must be >= 0, got -1"):
        digits_experiment(seeds=(0, -1), epochs=1, models=("MLP",), optimizers=("Adam",))


def test_full_batch_trajectory_records_every_iterate_and_gradient() -> None:
    net = mlp([8, 4, 3])
    params = net.init(0)
    batch = (np.random.default_rng(0).standard_normal((6, 8)), np.arange(6) % 3)
    opt = optim.SGD(lr=0.1, momentum=0.9, nesterov=True, nesterov_form="lookahead")
    new, grads = full_batch_trajectory(opt, params, net, batch, 5)
    assert len(new) == 6 and len(grads) == 5
    replay = optim.record_trajectory(opt, params, lambda point, t: net.loss_and_grad(point, batch)[1], 5)
    for a, b in zip(new, replay.params):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    assert full_batch_trajectory(opt, params, net, batch, 0) == ([params], [])
    from gc_theory.experiments import training

    assert not hasattr(training, "trajectory")  # the former name is gone: one loop, one name


def test_prepare_changes_the_start_and_leaves_the_batch_order() -> None:
    """A `prepare` that returns its input gives the run without it: its generator is a child stream."""
    data = load_digits()
    opt = make_optimizer("SGD-momentum", None)
    drawn = []

    def identity(net, params, data, rng):
        drawn.append(rng.standard_normal())  # uses its generator, as data-dependent init does
        return params

    plain = train(make_model("MLP"), data, opt, epochs=1, batch_size=128, seed=3)
    same = train(make_model("MLP"), data, opt, epochs=1, batch_size=128, seed=3, prepare=identity)
    assert len(drawn) == 1 and np.array_equal(plain.train_loss, same.train_loss)
    zeroed = train(make_model("MLP"), data, opt, epochs=1, batch_size=128, seed=3,
                   prepare=lambda net, params, data, rng: {k: 0.0 * v for k, v in params.items()})
    assert zeroed.train_loss[0] == pytest.approx(np.log(10), rel=1e-12)  # all logits 0: uniform over 10 classes


def test_evaluate_replaces_the_measurement() -> None:
    data = load_digits()
    history = train(make_model("MLP"), data, make_optimizer("Adam", None), epochs=2, batch_size=256, seed=0,
                    evaluate=lambda net, params, data: (1.5, 0.25))
    assert history.train_loss.tolist() == [1.5] * 3 and history.test_accuracy.tolist() == [0.25] * 3
