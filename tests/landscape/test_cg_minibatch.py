"""CG and SGD under mini-batch noise on losses of a linear predictor; CG's loss of gradient orthogonality."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gc_theory.core.backend import array_namespace, to_numpy
from gc_theory.landscape.cg import gradient_orthogonality, nonlinear_cg
from gc_theory.problems import gaussian_classes, logistic_loss, spd_quadratic, squared_loss
from gc_theory.landscape.cg_minibatch import Comparison, cg_against_sgd, comparison_table, minibatch_run
from gc_theory.verify.tolerances import gamma
from gc_theory.testing.strategies import on_backend

N, P = 200, 6


def _least_squares(backend: str = "numpy"):
    data = np.random.default_rng(4)
    x = data.standard_normal((N, P)) * np.geomspace(1.0, 5.0, P)
    y = x @ data.standard_normal(P) + 0.3 * data.standard_normal(N)
    return squared_loss(on_backend(backend, x), on_backend(backend, y)), float(np.linalg.cond(x.T @ x))


def test_full_batch_cg_on_a_quadratic_keeps_conjugacy_and_minibatches_break_it(backend):
    problem, kappa = _least_squares(backend)
    w0 = on_backend(backend, np.zeros(P))
    full = minibatch_run(problem, w0, N, 2 * N * (P - 1), np.random.default_rng(0), method="cg")
    # Linear CG with exact steps: the consecutive H-cosines are rounding, amplified by at most kappa.
    assert len(full.cosines) == P - 2 and max(full.cosines) <= kappa * gamma(4 * P, np.float64)
    noisy = minibatch_run(problem, w0, 10, 2 * N * (P - 1), np.random.default_rng(0), method="cg")
    assert np.mean(noisy.cosines) > 1e6 * kappa * gamma(4 * P, np.float64)
    assert all(isinstance(v, float) for v in full.losses + full.cosines) and all(isinstance(e, int) for e in full.evaluations)


def test_full_batch_sgd_is_gradient_descent_and_the_budget_is_kept(backend):
    problem, _ = _least_squares(backend)
    w0 = on_backend(backend, np.zeros(P))
    run = minibatch_run(problem, w0, N, 7 * N, np.random.default_rng(0), method="sgd", lr=0.01, records=7)
    w = w0
    for _ in range(7):
        w = w - 0.01 * problem.grad(w)
    assert run.losses[-1] == pytest.approx(float(problem.value(w)), rel=1e-13)
    assert run.evaluations == [0, N, 2 * N, 3 * N, 4 * N, 5 * N, 6 * N, 7 * N]
    cg = minibatch_run(problem, w0, 16, 1000, np.random.default_rng(1), method="cg")
    assert cg.evaluations[-1] == 2 * 16 * (1000 // 32)  # CG spends a gradient and a curvature product per step


def test_subset_is_the_loss_of_those_examples(xp):
    x, y = gaussian_classes(30, 3, np.random.default_rng(2))
    problem = logistic_loss(xp.asarray(x), xp.asarray(y), ridge=0.1)
    rows = np.array([3, 7, 11, 29])
    w = xp.asarray(np.array([0.2, -0.1, 0.4]))
    part = problem.subset(xp.asarray(rows))
    direct = logistic_loss(xp.asarray(x[rows]), xp.asarray(y[rows]), ridge=0.1)
    np.testing.assert_allclose(to_numpy(part.grad(w)), to_numpy(direct.grad(w)), rtol=1e-15)
    assert array_namespace(part.X) is array_namespace(problem.X)


def test_cg_against_sgd_on_a_logistic_loss_reports_plain_numbers_and_a_table():
    x, y = gaussian_classes(120, 4, np.random.default_rng(5))
    problem = logistic_loss(x, y, ridge=1e-2)
    rows = cg_against_sgd(problem, np.zeros(4), (8, 120), (0, 1), 4, 0.5)
    assert [(r.method, r.batch_size) for r in rows] == [("sgd", 8), ("cg", 8), ("sgd", 120), ("cg", 120)]
    for r in rows:
        assert isinstance(r, Comparison) and all(isinstance(v, float) for v in r[2:])
        assert r.loss_min <= r.loss_mean <= r.loss_max
    assert math.isnan(rows[0].cosine_mean) and not math.isnan(rows[1].cosine_mean)
    assert rows[3].loss_mean < rows[1].loss_min  # CG on the full batch beats CG on batches of 8, every seed
    table = comparison_table(rows, optimum=0.3)
    assert "gap to optimum" in table and len(table.splitlines()) == 2 + len(rows)


def test_bad_input_names_the_argument():
    problem, _ = _least_squares()
    w0, rng = np.zeros(P), np.random.default_rng(0)
    with pytest.raises(ValueError, match="method must be one of"):
        minibatch_run(problem, w0, 10, 100, rng, method="adam")
    with pytest.raises(ValueError, match="batch_size must be <= 200"):
        minibatch_run(problem, w0, N + 1, 1000, rng, lr=0.1)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        minibatch_run(problem, w0, 0, 1000, rng, lr=0.1)
    with pytest.raises(ValueError, match="lr must be given"):
        minibatch_run(problem, w0, 10, 100, rng)
    with pytest.raises(ValueError, match="budget must be >= 10"):
        minibatch_run(problem, w0, 10, 5, rng, lr=0.1)
    with pytest.raises(ValueError, match="seeds must name at least one seed"):
        cg_against_sgd(problem, w0, (10,), (), 1, 0.1)


def test_cg_gradients_lose_orthogonality_sooner_the_worse_the_conditioning():
    first_lost = {}
    for kappa in (1e1, 1e6):
        q = spd_quadratic(np.geomspace(1.0, kappa, 40), np.random.default_rng(0))
        run = nonlinear_cg(q.value, q.grad, np.zeros(40), beta="FR", line_search="exact", hvp=q.hvp,
                           tol=np.finfo(np.float64).tiny, maxiter=40, return_all=True)  # fmt: skip
        cos = gradient_orthogonality(np.array(run.allgrads))
        assert cos[0] == 0.0 and max(cos[1:4]) <= 1e3 * np.finfo(np.float64).eps
        first_lost[kappa] = next(k for k, c in enumerate(cos) if c > 1e-2)
    assert first_lost[1e6] < first_lost[1e1] < 40
