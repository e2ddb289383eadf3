"""The optimisation landscape: the descent lemma, vanishing gradients, mini-batch noise, saddles and CG."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from gc_theory.landscape.cg import gradient_orthogonality, nonlinear_cg
from gc_theory.landscape.descent import descent_bound, smoothness
from gc_theory.landscape.minibatch import batch_covariance, sampled_variance
from gc_theory.datasets import load_digits
from gc_theory.problems import Quadratic, logistic_loss, spd_quadratic
from gc_theory.landscape.saddle import escape_step, noisy_escape_steps, predicted_escape_step
from gc_theory.landscape.cg_minibatch import cg_against_sgd
from gc_theory.landscape.vanishing import chain, input_gradient
from . import figure

SEED = 0
#: The quadratic of the descent panel: an evenly spread spectrum with a gap of 2 at the top.
DESCENT_SPECTRUM = tuple(np.append(np.linspace(0.1, 5.0, 19), 10.0))
#: Chains: width, depths, and (activation, initialisation) pairs.
WIDTH, DEPTHS = 16, tuple(range(1, 21))
CHAINS = (("sigmoid", "default"), ("tanh", "small"), ("relu", "he"))
#: Mini-batch panel: examples, parameters, batch sizes, draws per batch size.
MB_N, MB_P, MB_SIZES, MB_DRAWS = 60, 5, (1, 2, 5, 10, 20, 30, 40, 50, 55, 60), 2000
#: Saddle f = (1/2)(x1^2 - x2^2/2) drawn with GD step 0.2; the escape counts use h = 1, lambda = (1, -1).
SADDLE_EIGENVALUES, SADDLE_H, SADDLE_STEPS = (1.0, -0.5), 0.2, 150
SADDLE_DELTAS = (0.0, 1e-2, 1e-1)
ESCAPE_EIGENVALUES, ESCAPE_H, ESCAPE_RADIUS = (1.0, -1.0), 1.0, 1.0
#: CG panel: size and condition number of the quadratic.
CG_N, CG_KAPPA = 10, 1e3
#: CG against SGD on the digits (3 against the rest, ridge 1e-2): batch sizes, seeds, budget in epochs.
NOISE_BATCHES, NOISE_SEEDS, NOISE_EPOCHS, NOISE_RIDGE = (8, 32, 128, None), tuple(range(5)), 10, 1e-2
#: Orthogonality figure: size, condition numbers (geometric spectra) and iterations (2n).
ORTH_N, ORTH_KAPPAS = 40, (1e1, 1e2, 1e4, 1e6)


def descent_curve(seed: int = SEED, points: int = 60) -> dict[str, np.ndarray | float]:
    r"""Along :math:`-g` from x near the top eigenvector: the loss, the descent lemma's bound, and the bound with :math:`L_s/2`."""
    q = Quadratic(DESCENT_SPECTRUM, seed=seed)
    rng = np.random.default_rng(seed)
    top = smoothness(lambda v: q.hvp(None, v), rng.standard_normal(q.dim), tol=1e-12)
    l_s = top.eigenvalue
    # Mostly along the top eigenvector, where the lemma is nearly tight, plus a random part.
    x = top.vector + 0.3 * rng.standard_normal(q.dim) / math.sqrt(q.dim)
    g = q.grad(x)
    f0, g2 = q.value(x), float(g @ g)
    eta = np.linspace(1e-6, 2.2, points) / l_s
    return {
        "eta_ls": eta * l_s,
        "loss": np.array([q.value(x - e * g) for e in eta]),
        "bound": np.array([descent_bound(f0, g2, float(e), l_s) for e in eta]),
        "underestimated": np.array([descent_bound(f0, g2, float(e), l_s / 2.0) for e in eta]),
        "f0": f0,
        "smoothness": l_s,
    }


def gradient_through_depth(seed: int = SEED) -> dict[str, np.ndarray]:
    """||dL/dx|| / ||dL/dh_d|| per depth for each chain, and the sigmoid bound prod ||W_k||_2 / 4^d."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for activation, init in CHAINS:
        ratios, bounds = [], []
        for depth in DEPTHS:
            net, params = chain(activation, depth, WIDTH, rng, init=init)
            g = input_gradient(net, params, rng.standard_normal((1, WIDTH)), rng.standard_normal((1, WIDTH)))
            ratios.append(g.input_norm / g.output_norm)
            bounds.append(g.weight_norm_product / 4.0**depth)
        out[activation] = np.array(ratios)
        if activation == "sigmoid":
            out["sigmoid bound"] = np.array(bounds)
    return out


def minibatch_variances(seed: int = SEED) -> dict[str, np.ndarray]:
    r""":math:`E\lVert \hat g_B - \bar g\rVert^2` sampled, with its standard error, and both formulas' traces."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((MB_N, MB_P)) + 0.5
    y = x @ rng.standard_normal(MB_P) + rng.standard_normal(MB_N)
    per_example = x * (x @ np.zeros(MB_P) - y)[:, None]  # least-squares gradients at w = 0
    sampled = [sampled_variance(per_example, b, MB_DRAWS, rng) for b in MB_SIZES]
    return {
        "batch": np.array(MB_SIZES),
        "sampled": np.array([s.mean for s in sampled]),
        "error": np.array([s.standard_error for s in sampled]),
        "without": np.array([np.trace(batch_covariance(per_example, b)) for b in MB_SIZES]),
        "with": np.array([np.trace(batch_covariance(per_example, b, replacement=True)) for b in MB_SIZES]),
    }


@figure("landscape_gradients")
def landscape_gradients(seed: int = SEED) -> Figure:
    """Left: the descent lemma's parabola above the loss along -g. Middle: input-gradient norms through depth.
    Right: mini-batch gradient variance against B, sampled and from the two formulas."""
    fig = Figure(figsize=(12.0, 3.9), layout="constrained")
    lemma, depth, batch = fig.subplots(1, 3)

    d = descent_curve(seed)
    lemma.plot(d["eta_ls"], d["loss"], color="k", label=r"$L(x - \eta g)$")
    lemma.plot(d["eta_ls"], d["bound"], color="C0", linestyle="--", label=r"bound with $L_s$ (power iteration)")
    lemma.plot(d["eta_ls"], d["underestimated"], color="C1", linestyle=":", label=r"bound with $L_s/2$ (too small)")
    lemma.axhline(d["f0"], color="0.5", linewidth=0.8)
    lemma.axvline(2.0, color="0.5", linewidth=0.8, linestyle="-.")
    lemma.set(xlabel=r"step $\eta L_s$", ylabel="loss", ylim=(None, 1.6 * d["f0"]))
    lemma.set_title("Descent lemma: the parabola bounds the loss")
    lemma.legend(loc="upper left")

    g = gradient_through_depth(seed)
    depths = np.array(DEPTHS)
    for (activation, init), c in zip(CHAINS, ("C0", "C1", "C2"), strict=True):
        depth.semilogy(depths, g[activation], "o-", color=c, markersize=3.5, label=f"{activation} ({init} init)")
    depth.semilogy(depths, g["sigmoid bound"], color="C0", linestyle="--", label=r"$\prod_k\|W_k\|_2 / 4^d$")
    depth.set(xlabel="depth $d$", ylabel=r"$\|\partial L/\partial x\| \,/\, \|\partial L/\partial h_d\|$")
    depth.set_title("Input gradient through depth (width 16)")
    depth.legend(loc="lower left")

    m = minibatch_variances(seed)
    b = m["batch"]
    inside = b < MB_N  # at B = N the variance is exactly 0, off a log axis
    batch.loglog(b, m["with"], color="C1", linestyle=":", label=r"with replacement: $\mathrm{tr}\,\Sigma/B$")
    batch.loglog(b[inside], m["without"][inside], color="C0",
                 label=r"without: $\mathrm{tr}\,\Sigma/B \cdot (N-B)/(N-1)$ (0 at $B = N$)")  # fmt: skip
    batch.errorbar(b[inside], m["sampled"][inside], yerr=2 * m["error"][inside], fmt="o", color="k", markersize=3.5,
                   capsize=2, label=f"sampled, {MB_DRAWS} batches each (±2 s.e.)")  # fmt: skip
    batch.set(xlabel=f"batch size $B$ (N = {MB_N})", ylabel=r"$E\|\hat g_B - \bar g\|^2$",
              ylim=(0.3 * m["without"][inside].min(), 2.0 * m["with"].max()))  # fmt: skip
    batch.set_title("Mini-batch noise, drawn without replacement")
    batch.legend(loc="lower left")
    return fig


def saddle_paths(h: float = SADDLE_H, steps: int = SADDLE_STEPS) -> dict[float, list[np.ndarray]]:
    """GD paths on the saddle from (+-1, +-delta), delta in SADDLE_DELTAS (0: the stable manifold), until |x| > 1.2."""
    lam = np.array(SADDLE_EIGENVALUES)
    paths: dict[float, list[np.ndarray]] = {}
    for delta in SADDLE_DELTAS:
        for sign in (1.0, -1.0):
            x = np.array([sign, sign * delta])
            path = [x]
            for _ in range(steps):
                x = (1.0 - h * lam) * x
                path.append(x)
                if np.max(np.abs(x)) > 1.2:
                    break
            paths.setdefault(delta, []).append(np.array(path))
    return paths


def escape_times(seed: int = SEED, runs: int = 300) -> dict[str, np.ndarray]:
    """Exact escape steps against delta (measured and predicted) and mean noisy escape steps against sigma."""
    lam = np.array(ESCAPE_EIGENVALUES)
    deltas = 10.0 ** -np.arange(1, 13, dtype=np.float64)
    measured = [escape_step(lam, np.array([0.5, d]), ESCAPE_H, ESCAPE_RADIUS) for d in deltas]
    predicted = [predicted_escape_step(float(d), ESCAPE_RADIUS, ESCAPE_H, ESCAPE_EIGENVALUES[1]) for d in deltas]
    rng = np.random.default_rng(seed)
    sigmas = 10.0 ** -np.arange(2, 11, 2, dtype=np.float64)
    noisy = [noisy_escape_steps(lam, float(s), ESCAPE_H, ESCAPE_RADIUS, runs, rng) for s in sigmas]
    return {"delta": deltas, "measured": np.array(measured), "predicted": np.array(predicted), "sigma": sigmas,
            "noisy": np.array([t.mean for t in noisy]), "noisy_error": np.array([t.standard_error for t in noisy])}  # fmt: skip


def cg_against_steepest_descent(seed: int = SEED, sd_steps: int = 60) -> dict[str, np.ndarray]:
    r"""Relative A-norm error per iteration of CG (FR) and steepest descent, both with exact steps."""
    q = Quadratic(np.linspace(1.0, CG_KAPPA, CG_N), seed=seed)
    x0 = np.random.default_rng(seed).standard_normal(CG_N)
    out = {}
    for beta, steps in (("FR", CG_N), ("SD", sd_steps)):
        run = nonlinear_cg(q.value, q.grad, x0, beta=beta, line_search="exact", hvp=q.hvp,
                           tol=np.finfo(np.float64).tiny, maxiter=steps, return_all=True)  # fmt: skip
        out[beta] = np.sqrt([max(q.value(x), 0.0) / q.value(x0) for x in run.allvecs])
    return out


@figure("landscape_saddle_cg")
def landscape_saddle_cg(seed: int = SEED) -> Figure:
    """Left: GD on a 2-D saddle, on and off the stable manifold. Middle: escape steps against the offset delta
    and the noise sigma. Right: CG against steepest descent on a quadratic with condition number 1e3."""
    fig = Figure(figsize=(12.0, 3.9), layout="constrained")
    saddle, escape, cg = fig.subplots(1, 3)

    s = np.linspace(-1.2, 1.2, 121)
    X1, X2 = np.meshgrid(s, s)
    saddle.contour(X1, X2, 0.5 * (SADDLE_EIGENVALUES[0] * X1**2 + SADDLE_EIGENVALUES[1] * X2**2), levels=15,
                   colors="0.75", linewidths=0.7)  # fmt: skip
    for (delta, paths), c in zip(saddle_paths().items(), ("k", "C1", "C2"), strict=True):
        label = "on the stable manifold" if delta == 0 else rf"$\delta = 10^{{{round(math.log10(delta))}}}$ off it"
        for i, path in enumerate(paths):
            saddle.plot(path[:, 0], path[:, 1], "o-", color=c, markersize=2.2, linewidth=1.0,
                        zorder=3 if delta == 0 else 2, label=label if i == 0 else None)  # fmt: skip
    saddle.plot(0, 0, "k+", markersize=9)
    saddle.set(xlabel="$x_1$ ($\\lambda = 1$)", ylabel="$x_2$ ($\\lambda = -1/2$)", xlim=(-1.2, 1.2), ylim=(-1.2, 1.2),
               aspect="equal")  # fmt: skip
    saddle.set_title(f"GD (h = {SADDLE_H:g}) from $(\\pm 1, \\pm\\delta)$ on a saddle")
    saddle.legend(loc="lower left", framealpha=0.9, frameon=True)

    e = escape_times(seed)
    rate = math.log1p(ESCAPE_H * abs(ESCAPE_EIGENVALUES[1]))
    escape.semilogx(e["delta"], e["predicted"], color="C0", label=r"predicted $\lceil\log(1/\delta)/\log 2\rceil$")
    escape.semilogx(e["delta"], e["measured"], "o", color="C0", markersize=4, label=r"measured, GD from $\delta$ off")
    escape.errorbar(e["sigma"], e["noisy"], yerr=2 * e["noisy_error"], fmt="s", color="C1", markersize=4, capsize=2,
                    label=r"noisy GD from the saddle: mean (±2 s.e.)")  # fmt: skip
    fit = np.polyfit(np.log(1.0 / e["sigma"]), e["noisy"], 1)
    escape.semilogx(e["sigma"], np.polyval(fit, np.log(1.0 / e["sigma"])), color="C1", linestyle="--",
                    label=f"fit: slope {fit[0]:.3f} ($1/\\log 2$ = {1 / rate:.3f})")  # fmt: skip
    escape.invert_xaxis()
    escape.set(xlabel=r"offset $\delta$ or noise $\sigma$", ylabel="steps to reach radius 1", ylim=(0, 50))
    escape.set_title(r"Escape time grows like $\log(1/\delta)$ (h = 1, $\lambda = \pm 1$)")
    escape.legend(loc="upper left")

    runs = cg_against_steepest_descent(seed)
    cg.semilogy(np.arange(runs["SD"].size), runs["SD"], "o-", color="C1", markersize=2.5, label="steepest descent")
    cg.semilogy(np.arange(runs["FR"].size), np.maximum(runs["FR"], 1e-17), "o-", color="C0", markersize=3.5,
                label="conjugate gradient (FR)")  # fmt: skip
    cg.axvline(CG_N, color="0.5", linewidth=0.8, linestyle="-.")
    cg.set(xlabel="iteration $k$ (exact line search)", ylabel=r"$\|x_k - x^*\|_A / \|x_0 - x^*\|_A$", ylim=(1e-17, 3))
    cg.set_title(rf"Quadratic, $n = {CG_N}$, $\kappa = 10^3$: CG is done after $n$ steps")
    cg.legend(loc="lower left")
    return fig


def cg_orthogonality(seed: int = SEED) -> dict[float, dict[str, np.ndarray]]:
    r"""Per condition number: CG's (FR, exact steps) loss of gradient orthogonality and relative A-norm error, 2n steps."""
    out = {}
    for kappa in ORTH_KAPPAS:
        q = spd_quadratic(np.geomspace(1.0, kappa, ORTH_N), np.random.default_rng(seed))
        x_star = q.minimiser
        run = nonlinear_cg(q.value, q.grad, np.zeros(ORTH_N), beta="FR", line_search="exact", hvp=q.hvp,
                           tol=np.finfo(np.float64).tiny, maxiter=2 * ORTH_N, return_all=True)  # fmt: skip
        err = np.array([np.sqrt((x - x_star) @ q.A @ (x - x_star)) for x in run.allvecs]) / np.sqrt(x_star @ q.A @ x_star)
        out[kappa] = {"cosine": np.array(gradient_orthogonality(np.array(run.allgrads))), "error": err}
    return out


@figure("landscape_cg_orthogonality")
def landscape_cg_orthogonality(seed: int = SEED) -> Figure:
    """CG with exact steps in floating point: left, how far each gradient is from orthogonal to the earlier ones;
    right, the A-norm error, which is not at rounding after n steps once orthogonality is lost."""
    fig = Figure(figsize=(10.0, 3.9), layout="constrained")
    cos_ax, err_ax = fig.subplots(1, 2)
    floor = 1e-17  # zeros (k = 0, exact rounding) drawn at the bottom of the log axis
    for (kappa, run), c in zip(cg_orthogonality(seed).items(), ("C0", "C1", "C2", "C3"), strict=True):
        label = rf"$\kappa = 10^{{{round(math.log10(kappa))}}}$"
        k = np.arange(run["cosine"].size)
        cos_ax.semilogy(k, np.maximum(run["cosine"], floor), "o-", color=c, markersize=2.5, linewidth=1.0, label=label)
        err_ax.semilogy(np.arange(run["error"].size), np.maximum(run["error"], floor), "o-", color=c, markersize=2.5,
                        linewidth=1.0, label=label)  # fmt: skip
    for ax in (cos_ax, err_ax):
        ax.axvline(ORTH_N, color="0.5", linewidth=0.8, linestyle="-.")
        ax.set_xlabel("iteration $k$ (FR, exact line search)")
    cos_ax.set(ylabel=r"$\max_{j<k} |\cos(g_k, g_j)|$", ylim=(floor, 3))
    cos_ax.set_title(f"Gradients lose orthogonality (n = {ORTH_N}, geometric spectra)")
    cos_ax.legend(loc="lower right")
    err_ax.set(ylabel=r"$\|x_k - x^*\|_A / \|x^*\|_A$", ylim=(floor, 3))
    err_ax.set_title("... and CG is no longer done after $n$ steps")
    err_ax.legend(loc="lower left")
    return fig


def digits_logistic() -> tuple[object, np.ndarray, float, float]:
    """The digits' 3-against-the-rest logistic loss, its start 0, SGD's step 1/L_s there, and the optimum (PR+ CG)."""
    x, labels = load_digits().train
    problem = logistic_loss(x, np.where(np.asarray(labels) == 3, 1.0, -1.0), ridge=NOISE_RIDGE)
    w0 = np.zeros(x.shape[1])
    l_s = smoothness(lambda v: problem.hvp(w0, v), np.random.default_rng(SEED).standard_normal(x.shape[1]), tol=1e-10).eigenvalue
    optimum = nonlinear_cg(lambda w: float(problem.value(w)), problem.grad, w0, tol=1e-10).fun
    return problem, w0, 1.0 / l_s, float(optimum)


@figure("landscape_cg_noise")
def landscape_cg_noise(seed: int = SEED) -> Figure:
    """CG and SGD with mini-batch gradients on the digits logistic regression, the same budget (10 epochs of
    per-example evaluations): left, the final loss's gap to the optimum against B; right, CG's loss of conjugacy."""
    problem, w0, lr, optimum = digits_logistic()
    n = problem.X.shape[0]
    sizes = [n if b is None else b for b in NOISE_BATCHES]
    rows = cg_against_sgd(problem, w0, sizes, [seed + s for s in NOISE_SEEDS], NOISE_EPOCHS, lr)
    fig = Figure(figsize=(10.0, 3.9), layout="constrained")
    gap_ax, cos_ax = fig.subplots(1, 2)
    methods = (("sgd", "C1", r"SGD, fixed step $1/L_s$"), ("cg", "C0", "CG (PR+), step from the batch's curvature"))
    for method, c, label in methods:
        r = [row for row in rows if row.method == method]
        mean, low, high = (np.array([getattr(row, k) for row in r]) - optimum for k in ("loss_mean", "loss_min", "loss_max"))
        gap_ax.errorbar(sizes, mean, yerr=[mean - low, high - mean], fmt="o-", color=c, capsize=3, markersize=4, label=label)
    gap_ax.set(xscale="log", yscale="log", xlabel="batch size B (N = full batch)", ylabel="final loss $-$ optimum")
    gap_ax.set_xticks(sizes, [str(b) for b in sizes[:-1]] + [f"N = {n}"])
    gap_ax.set_title(f"Same budget ({NOISE_EPOCHS} epochs), mean and range over {len(NOISE_SEEDS)} seeds")
    gap_ax.legend(loc="upper right")
    cg_rows = [row for row in rows if row.method == "cg"]
    cos_ax.semilogx(sizes, [row.cosine_mean for row in cg_rows], "o-", color="C0")
    cos_ax.set_xticks(sizes, [str(b) for b in sizes[:-1]] + [f"N = {n}"])
    cos_ax.set(xlabel="batch size B", ylabel=r"mean $|d_k^\top H d_{k+1}| / \|d_k\|_H \|d_{k+1}\|_H$", ylim=(0, 1))
    cos_ax.set_title("CG's consecutive directions: conjugate only with the full batch")
    return fig
