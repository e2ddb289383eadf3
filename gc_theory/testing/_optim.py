r"""Assertions for a user's optimiser step, and for GC's hyperplane on a user's trajectory.

:func:`assert_optimizer_matches` feeds the user's step and a toolkit optimiser
(:mod:`gc_theory.optim`) the same gradients along a drawn problem and holds
the two trajectories to a rounding bound accumulated from the run;
:func:`assert_confined` checks that the weights of a GC run stay on the
hyperplane :math:`e^\top(w_t - w_0) = 0` of each weight vector.
:func:`torch_step` adapts a ``torch.optim.Optimizer`` class to the step
protocol the first assertion takes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from gc_theory.core.backend import DTYPES, is_array, to_numpy
from gc_theory.core.validation import check_choice, check_positive, check_positive_int, check_seed
from gc_theory.gc.layouts import reduction_axes
from gc_theory.optim import Optimizer
from gc_theory.verify.measurement import Measurement
from gc_theory.verify.tolerances import gamma, unit_roundoff

from ._common import call, check_result, check_slack, check_unmodified, host, in_eps, namespace, snapshot

__all__ = ["assert_confined", "assert_optimizer_matches", "torch_step"]

_WHO = "assert_optimizer_matches"
#: The drawn problem's parameters, PyTorch's layouts: a conv layer and a fully connected layer with its bias.
SHAPES = {"conv.weight": (4, 3, 2, 2), "conv.bias": (4,), "fc.weight": (5, 6), "fc.bias": (5,)}
#: Roundings per entry that one step of any seed rule may make outside GC's mean (Adam's is about 16).
_K = 32

Step = Callable[[dict[str, Any], dict[str, Any], Any], tuple[dict[str, Any], Any]]


# --- adapters ---------------------------------------------------------------------------------


def torch_step(optimizer_class: Any, **kwargs: Any) -> Step:
    r"""A step function ``(params, grads, state) -> (params, state)`` running a ``torch.optim.Optimizer`` class.

    The first call (``state=None``) creates tensors that require grad from
    copies of `params` and ``optimizer_class(tensors, **kwargs)``; every call
    sets each tensor's ``.grad``, calls ``step()`` and returns copies, so the
    caller's tensors are never modified. This is how
    :func:`assert_optimizer_matches` checks an optimiser written as a
    ``torch.optim.Optimizer`` subclass (for example one with GC inside).

    Parameters
    ----------
    optimizer_class : type
        A ``torch.optim.Optimizer`` subclass, e.g. ``torch.optim.Adam`` or yours.
    **kwargs
        Its hyperparameters (``lr``, ``betas``, ...).

    Returns
    -------
    callable
        The step function; its state is the optimizer and its tensors.
    """
    if not isinstance(optimizer_class, type):
        raise TypeError(f"optimizer_class must be a class (e.g. torch.optim.SGD), got {type(optimizer_class).__name__}")

    def step(params: dict[str, Any], grads: dict[str, Any], state: Any) -> tuple[dict[str, Any], Any]:
        import torch

        if state is None:
            tensors = {k: torch.nn.Parameter(p.detach().clone()) for k, p in params.items()}
            state = (optimizer_class(list(tensors.values()), **kwargs), tensors)
        opt, tensors = state
        for k, p in tensors.items():
            p.grad = grads[k].detach().clone()
        opt.step()
        return {k: p.detach().clone() for k, p in tensors.items()}, state

    step.__name__ = f"torch_step({optimizer_class.__name__})"
    return step


def _as_step(step_fn: Any) -> tuple[Step, str]:
    """The user's step function, or a toolkit-like object with ``init``/``step``, as a step function."""
    if hasattr(step_fn, "init") and hasattr(step_fn, "step") and callable(step_fn.step):
        def step(params: dict[str, Any], grads: dict[str, Any], state: Any) -> tuple[dict[str, Any], Any]:
            return step_fn.step(params, grads, step_fn.init(params) if state is None else state)

        return step, type(step_fn).__name__
    if not callable(step_fn):
        raise TypeError(f"step_fn must be callable as step_fn(params, grads, state) -> (params, state), or have init and "
                        f"step methods, got {type(step_fn).__name__}")  # fmt: skip
    return step_fn, getattr(step_fn, "__name__", type(step_fn).__name__)


# --- the drawn problem ------------------------------------------------------------------------


def _problem(rng: np.random.Generator, steps: int):
    """Start, per-unit gradient magnitudes over nine decades, and the noise of each step (host float64).

    The magnitudes are drawn per weight vector (per entry for biases), so GC's mean stays well conditioned while
    some units have gradients far below eps, where an eps placed inside the square root shows.
    """
    start = {k: rng.standard_normal(s) for k, s in SHAPES.items()}
    magnitude = {k: 10.0 ** rng.uniform(-9, 0, s[0] if len(s) > 1 else s).reshape((-1,) + (1,) * (len(s) - 1))
                 for k, s in SHAPES.items()}  # fmt: skip
    noise = [{k: 0.3 * rng.standard_normal(s) + 0.2 for k, s in SHAPES.items()} for _ in range(steps)]
    return start, magnitude, noise


def _gradient(point: Mapping[str, np.ndarray], magnitude: Mapping[str, np.ndarray], noise: Mapping[str, np.ndarray]):
    """A nonlinear gradient with a nonzero mean per unit, evaluated on the host in float64."""
    return {k: magnitude[k] * (np.tanh(p) + 0.1 * p**2 + noise[k]) for k, p in point.items()}


def _reference_run(reference: Optimizer, start: dict[str, np.ndarray], magnitude, noise, dtype: str, fed=None):
    """The reference's iterates and the gradients (at its gradient points) that both sides are fed (or `fed`)."""
    params = {k: v.astype(dtype) for k, v in start.items()}
    state = reference.init(params)
    iterates, grads = [params], []
    for t in range(len(noise)):
        point = {k: np.asarray(v, dtype=np.float64) for k, v in reference.gradient_point(params, state).items()}
        g = fed[t] if fed is not None else {k: v.astype(dtype) for k, v in _gradient(point, magnitude, noise[t]).items()}
        params, state = reference.step(params, g, state)
        iterates.append(params)
        grads.append(g)
    return iterates, grads


def _user_run(step: Step, start: dict[str, np.ndarray], grads: list[dict[str, np.ndarray]], xp: Any, dtype: str,
              case: str) -> list[dict[str, np.ndarray]]:  # fmt: skip
    params = {k: host(xp, v.astype(dtype), dtype) for k, v in start.items()}
    out, state = [{k: to_numpy(v).astype(np.float64) for k, v in params.items()}], None
    for t, g_host in enumerate(grads):
        g = {k: host(xp, v, dtype) for k, v in g_host.items()}
        before = {k: snapshot(v) for k, v in {**{"params" + k: p for k, p in params.items()},
                                              **{"grads" + k: q for k, q in g.items()}}.items()}  # fmt: skip
        result = call(_WHO, step, f"{case}, step {t + 1}", params, g, state)
        if not isinstance(result, tuple) or len(result) != 2 or not isinstance(result[0], Mapping):
            raise AssertionError(f"{_WHO}: step_fn returned {type(result).__name__}, expected a pair (params dict, state)\n"
                                 f"  case: {case}, step {t + 1}")  # fmt: skip
        new, state = result
        if set(new) != set(params):
            raise AssertionError(f"{_WHO}: step_fn returned the keys {sorted(new)}, expected {sorted(params)}\n"
                                 f"  case: {case}, step {t + 1}")  # fmt: skip
        for k in params:
            check_unmodified(_WHO, f"params[{k!r}]", before["params" + k], params[k], f"{case}, step {t + 1}")
            check_unmodified(_WHO, f"grads[{k!r}]", before["grads" + k], g[k], f"{case}, step {t + 1}")
        out.append({k: check_result(_WHO, f"step_fn(...)[0][{k!r}]", new[k], params[k], f"{case}, step {t + 1}")
                    for k in params})  # fmt: skip
        params = new
    return out


# --- the bound --------------------------------------------------------------------------------


def _envelope(x: np.ndarray) -> np.ndarray:
    """|x| per entry for a bias, max |x| over the weight vector for a weight (GC couples a vector's entries)."""
    if x.ndim < 2:
        return np.abs(x)
    return np.broadcast_to(np.max(np.abs(x), axis=tuple(range(1, x.ndim)), keepdims=True), x.shape)


def _tolerances(iterates: list[dict[str, np.ndarray]], dtype: str, slack: float) -> list[dict[str, np.ndarray]]:
    r"""The bound of :func:`assert_optimizer_matches`'s Notes at every step and entry (host float64)."""
    tol = [{k: np.zeros(v.shape) for k, v in iterates[0].items()}]
    u = unit_roundoff(dtype)
    for t in range(1, len(iterates)):
        step_tol = {}
        for k, p in iterates[0].items():
            c = gamma(_K + (math.prod(p.shape[1:]) if p.ndim > 1 else 0), dtype)
            total = np.zeros(p.shape)
            for s in range(1, t + 1):
                delta = _envelope(iterates[s][k].astype(np.float64) - iterates[s - 1][k])
                total += (t - s + 1) * c * delta + 2 * u * np.abs(iterates[s][k])
            step_tol[k] = 2 * slack * total  # both sides round
        tol.append(step_tol)
    return tol


def _compare(user: list[dict[str, np.ndarray]], ref: list[dict[str, np.ndarray]], tol: list[dict[str, np.ndarray]]):
    """Per step and parameter: (ratio, entry, got, expected, allowed) of the worst entry."""
    table = []
    for t in range(1, len(ref)):
        row = {}
        for k in ref[t]:
            gap = np.abs(user[t][k] - ref[t][k].astype(np.float64))
            ratio = np.where(tol[t][k] > 0, gap / np.where(tol[t][k] > 0, tol[t][k], 1.0), np.where(gap > 0, np.inf, 0.0))
            i = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
            row[k] = (float(ratio[i]), i, float(user[t][k][i]), float(ref[t][k][i]), float(tol[t][k][i]), float(gap[i]))
        table.append(row)
    return table


def _variants(reference: Optimizer) -> list[tuple[str, Optimizer]]:
    """The reference with one plausible mistake each, to name the mistake when the user's run matches one."""
    out = []
    hyper = reference.hyperparameters()

    def add(text: str, **changes: Any) -> None:
        try:
            out.append((text, reference.replace(**changes)))
        except (TypeError, ValueError):
            pass

    if reference.gc is None:
        add("the step centralises the gradient (GC) where the reference does not", gc="gradient")
    else:
        add("GC is missing: the step does not centralise the gradient of weights", gc=None)
        other = "update" if reference.gc == "gradient" else "gradient"
        add(f"GC is applied to the {other} instead of the {reference.gc}", gc=other)
        add("GC is applied to " + ("every weight, not only conv weights" if reference.gc_conv_only else "conv weights only"),
            gc_conv_only=not reference.gc_conv_only)  # fmt: skip
    if "nesterov" in hyper and hyper.get("momentum"):
        add("Nesterov momentum is " + ("missing" if hyper["nesterov"] else "used where the reference has plain momentum"),
            nesterov=not hyper["nesterov"])  # fmt: skip
    if hyper.get("weight_decay"):
        add("weight decay is missing", weight_decay=0.0)
    return out


def _diagnose(user, start, magnitude, noise, grads, reference: Optimizer, dtype: str, table) -> list[str]:
    hints = []
    for text, variant in _variants(reference):
        try:
            iterates, _ = _reference_run(variant, start, magnitude, noise, dtype, fed=grads)
        except (TypeError, ValueError):
            continue
        tol = _tolerances(iterates, dtype, 64.0)
        if all(r[0] <= 1 for row in _compare(user, iterates, tol) for r in row.values()):
            hints.append(text)
    first = next(t for t, row in enumerate(table, 1) if any(r[0] > 1 for r in row.values()))
    bad = sorted({k for row in table for k, r in row.items() if r[0] > 1})
    if first == 1:
        hints.append("the first step already differs: the update formula itself (learning rate, the formula, where eps "
                     "goes, where GC goes)")  # fmt: skip
    else:
        hints.append(f"the first {first - 1} step(s) agree and step {first} differs: the state is carried wrongly "
                     "(bias correction applied in place, a buffer not updated or updated twice, the step count off by one)")
    if bad and all(len(SHAPES[k]) == 1 for k in bad):
        hints.append("only biases differ: are biases centralised or decayed where the reference leaves them?")
    elif bad and all(len(SHAPES[k]) > 1 for k in bad):
        hints.append("only weights (2-d and 4-d) differ, the biases agree: GC is applied differently (missing, on the "
                     "update instead of the gradient, or over the wrong axes)")  # fmt: skip
    return hints


def assert_optimizer_matches(step_fn: Any, reference: Optimizer, *, steps: int = 20, examples: int = 4,
                             dtypes: Sequence[str] = DTYPES, xp: Any = None, seed: int = 0,
                             slack: float = 1.0) -> Measurement:  # fmt: skip
    r"""Assert that a user's optimiser step reproduces a toolkit optimiser's trajectory, step by step.

    On each of `examples` drawn problems (a conv weight, a fully connected
    weight and their biases, in PyTorch's layouts; gradient magnitudes drawn per
    weight vector over nine decades, so that some units have gradients far
    below eps) both optimisers start from the same parameters and are fed the
    same gradients for `steps` steps: those of the problem at the reference's
    iterates (at its :meth:`~gc_theory.optim.Optimizer.gradient_point`). Every
    iterate of the user's step must agree with the reference's to the rounding
    bound of the Notes.

    Parameters
    ----------
    step_fn : callable or optimiser-like
        ``step_fn(params, grads, state) -> (new_params, new_state)``, with
        ``state=None`` on the first call and the returned state passed back
        afterwards (its contents are the user's); params and grads are dicts of
        arrays of namespace `xp`. An object with ``init(params)`` and
        ``step(params, grads, state)`` (the toolkit's protocol) is taken too,
        and :func:`torch_step` wraps a ``torch.optim.Optimizer`` class.
    reference : gc_theory.optim.Optimizer
        What it should match, e.g. ``optim.Adam(lr=1e-2, gc="gradient")``.
    steps : int, default 20
        Length of each trajectory.
    examples : int, default 4
        Number of drawn problems, spread over `dtypes`.
    dtypes : sequence of {"float64", "float32"}
    xp : module, optional
        The namespace of `step_fn`'s arrays (``torch``...); default NumPy.
    seed : int
        Seeds the drawn problems.
    slack : float, default 1
        Multiplies the tolerance.

    Returns
    -------
    Measurement
        The worst entry's gap over its tolerance (``tolerance`` 1).

    Raises
    ------
    AssertionError
        A trajectory departs: the message gives the first step and parameter
        where it does, the entry, both values and the bound, and what the
        departure looks like (the first step differs, or only later steps: the
        state; only weights: GC; a reference variant that the user's run does
        match: "GC is applied to the update instead of the gradient"...). Also
        when `step_fn` raises, returns the wrong keys, shapes, dtypes or
        namespace, NaN, or modifies its inputs.
    TypeError, ValueError
        A bad argument of the assertion itself.

    Notes
    -----
    Both sides see the same gradients, so no difference is amplified through
    the problem: what differs is each side's rounding of the rule. The bound
    assumes one step rounds each entry at most :math:`K = 32` times relative to
    the step's own size (Adam, the longest seed rule, rounds about 16 times) plus,
    for a weight, :math:`M` more in GC's mean over its :math:`M` entries; that an
    error made in a state buffer at step s reaches every later step with a
    weight at most one (the buffers are averages or sums normalised by the
    rule); and that the update :math:`w - \Delta` rounds once. With
    :math:`D_s` the reference's step :math:`|w_s - w_{s-1}|` (the largest over
    the weight vector for a weight, per entry for a bias) each side is then
    within

    .. math::

        \sum_{s=1}^{t} (t - s + 1)\,\gamma_{K + M} D_s + 2u\,|w_s|

    of the exact trajectory at step t, and the two within twice that. A rule
    whose update cancels (centred RMSprop's :math:`v - m^2` when the gradient's
    variance is small against its mean) can need `slack`.

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory import optim
    >>> from gc_theory.testing import assert_optimizer_matches
    >>> def my_sgd_gc(params, grads, state):
    ...     momentum = state or {k: np.zeros_like(p) for k, p in params.items()}
    ...     new_params, new_momentum = {}, {}
    ...     for k, p in params.items():
    ...         g = grads[k]
    ...         if g.ndim > 1:
    ...             g = g - g.mean(axis=tuple(range(1, g.ndim)), keepdims=True)
    ...         new_momentum[k] = 0.9 * momentum[k] + g
    ...         new_params[k] = p - 0.1 * new_momentum[k]
    ...     return new_params, new_momentum
    >>> assert_optimizer_matches(my_sgd_gc, optim.SGD(lr=0.1, momentum=0.9, gc="gradient")).passed
    True
    >>> assert_optimizer_matches(my_sgd_gc, optim.SGD(lr=0.1, momentum=0.9))
    Traceback (most recent call last):
    ...
    AssertionError: assert_optimizer_matches: the trajectory departs from SGD(...) at step 1, 'conv.weight'
    ...
    """
    step, label = _as_step(step_fn)
    if not isinstance(reference, Optimizer):
        raise TypeError(f"reference must be an optimiser of gc_theory.optim (SGD, Adam, ...), got {type(reference).__name__}")
    steps, examples = check_positive_int(steps, "steps"), check_positive_int(examples, "examples")
    dtypes = [check_choice(x, "dtypes", DTYPES) for x in dtypes]
    if not dtypes:
        raise ValueError("dtypes must name at least one dtype")
    seed, slack, xp = check_seed(seed), check_slack(slack), namespace(xp)
    rng = np.random.default_rng(seed)
    worst = []
    for i in range(examples):
        dtype = dtypes[i % len(dtypes)]
        start, magnitude, noise = _problem(rng, steps)
        case = f"problem #{i}, {dtype}, {steps} steps of {label} against {reference!r}"
        ref, grads = _reference_run(reference, start, magnitude, noise, dtype)
        user = _user_run(step, start, grads, xp, dtype, case)
        tol = _tolerances(ref, dtype, slack)
        table = _compare(user, ref, tol)
        t, k = max(((t, k) for t, row in enumerate(table, 1) for k in row), key=lambda tk: table[tk[0] - 1][tk[1]][0])
        ratio, entry, got, expected, allowed, gap = table[t - 1][k]
        worst.append(Measurement(ratio, 1.0, None, f"{case}: step {t}, {k}{[int(q) for q in entry]}"))
        if ratio <= 1:
            continue
        first = next(s for s, row in enumerate(table, 1) if any(r[0] > 1 for r in row.values()))
        key = max(table[first - 1], key=lambda q: table[first - 1][q][0])
        ratio, entry, got, expected, allowed, gap = table[first - 1][key]
        scale = max(abs(expected), 1e-300)
        lines = [f"{_WHO}: the trajectory departs from {type(reference).__name__}(...) at step {first}, {key!r}",
                 f"  measured {gap:.3g}{in_eps(gap, dtype, scale)}, allowed {allowed:.3g}{in_eps(allowed, dtype, scale)} "
                 f"({dtype})",
                 f"  case: {case}",
                 f"  where: {key}{[int(q) for q in entry]} at step {first}: got {got:.9g}, reference {expected:.9g}"]  # fmt: skip
        lines += [f"  diagnosis: {h}" for h in _diagnose(user, start, magnitude, noise, grads, reference, dtype, table)]
        raise AssertionError("\n".join(lines))
    return Measurement.worst(worst)


# --- the hyperplane ---------------------------------------------------------------------------

_CWHO = "assert_confined"


def _weights(trajectory: Any, w0: Any) -> tuple[dict[str, list[np.ndarray]], dict[str, np.ndarray], dict[str, str]]:
    """The iterates by parameter name (host float64), and the starts."""
    if hasattr(trajectory, "params") and isinstance(getattr(trajectory, "params"), list):
        trajectory = trajectory.params  # a gc_theory.optim.Trajectory
    if isinstance(trajectory, Mapping) or is_array(trajectory) or not isinstance(trajectory, Sequence) or not trajectory:
        raise TypeError("trajectory must be a nonempty sequence of iterates (arrays, or dicts of arrays) or a Trajectory")
    first = trajectory[0]
    if isinstance(first, Mapping):
        names = list(first)
        for t, it in enumerate(trajectory):
            if not isinstance(it, Mapping) or set(it) != set(names):
                raise ValueError(f"trajectory[{t}] must be a dict with the keys of trajectory[0], {sorted(names)}")
        if w0 is not None and (not isinstance(w0, Mapping) or set(w0) != set(names)):
            raise ValueError(f"w0 must be a dict with the keys of the iterates, {sorted(names)}")
        series = {k: [to_numpy(it[k]).astype(np.float64) for it in trajectory] for k in names}
        starts = series if w0 is None else {k: [to_numpy(w0[k]).astype(np.float64)] for k in names}
    else:
        series = {"w": [to_numpy(it).astype(np.float64) for it in trajectory]}
        starts = series if w0 is None else {"w": [to_numpy(w0).astype(np.float64)]}
    dtypes = {k: str(getattr(trajectory[0][k] if isinstance(first, Mapping) else first, "dtype", "float64")) for k in series}
    for k, xs in series.items():
        shapes = {x.shape for x in xs} | {starts[k][0].shape}
        if len(shapes) > 1:
            raise ValueError(f"the iterates of {k!r} change shape along the trajectory: {sorted(shapes)}")
        if not all(np.all(np.isfinite(x)) for x in xs):
            t = next(t for t, x in enumerate(xs) if not np.all(np.isfinite(x)))
            raise AssertionError(f"{_CWHO}: iterate {t} of {k!r} has NaN or Inf")
    return series, {k: v[0] for k, v in starts.items()}, dtypes


def assert_confined(trajectory: Any, w0: Any = None, *, axis: int = 0, amplification: float = 10.0,
                    slack: float = 1.0) -> Measurement:  # fmt: skip
    r"""Assert that every weight vector of a GC run stays on its hyperplane :math:`e^\top(w_t - w_0) = 0`.

    Parameters
    ----------
    trajectory : sequence or Trajectory
        The iterates :math:`w_0, w_1, \dots` of one weight (arrays), of a model
        (dicts of arrays: every parameter with two or more axes is checked,
        1-d biases are skipped), or a :class:`gc_theory.optim.Trajectory`.
    w0 : array or dict, optional
        The start; default the first iterate.
    axis : int, default 0
        The output-unit axis of the layout (-1 for a Keras kernel).
    amplification : float, default 10
        A bound on how many centralised vectors, in ℓ1 norm relative to the
        step itself, one step combines (Notes): 10 covers heavy-ball momentum
        up to 0.9; raise it for larger momentum.
    slack : float, default 1
        Multiplies the tolerance.

    Returns
    -------
    Measurement
        The worst drift over its bound, over steps, parameters and units.

    Raises
    ------
    AssertionError
        A weight vector leaves its hyperplane: the message gives the
        parameter, unit and step, the drift and the bound, and how the drift
        grows (every step: GC is missing, along the wrong axis, or broken by an
        adaptive rule's division).
    TypeError, ValueError
        A trajectory of the wrong kind, or iterates that change shape.

    Notes
    -----
    In exact arithmetic every GC step moves a weight vector by a combination
    of centralised vectors, whose coordinate sum :math:`\sigma` is zero. In
    floating point (the bound of :mod:`gc_theory.optim.confinement`) GC's mean
    leaves :math:`|\sigma| \le \gamma_{M+4}` times the ℓ1 norm of what it
    centralised, and the step :math:`\mathrm{fl}(w - \Delta)` adds
    :math:`\gamma_1\|w_t\|_1`. Without the optimiser's internals the ℓ1 norm
    of what was centralised is taken as `amplification` times the step's,
    :math:`\|w_t - w_{t-1}\|_1`, so

    .. math::

        |e^\top(w_t - w_0)| \le \frac{1}{\sqrt M}\Bigl(\sum_{s \le t}
        a\,\gamma_{M+4}\|w_s - w_{s-1}\|_1 + \gamma_1\|w_s\|_1
        + \gamma_{M+1}\|w_t - w_0\|_1\Bigr),

    the last term for measuring the drift. Adaptive rules (Adam, RMSprop) with
    GC on the *gradient* are not confined: their elementwise division by
    :math:`\sqrt{v}` breaks the zero mean; GC on the *update* is.

    Examples
    --------
    >>> import numpy as np
    >>> from gc_theory import centralize
    >>> from gc_theory.testing import assert_confined
    >>> rng = np.random.default_rng(0)
    >>> w = [rng.standard_normal((3, 4))]
    >>> for _ in range(20):
    ...     w.append(w[-1] - 0.1 * centralize(rng.standard_normal((3, 4)) + 1.0))
    >>> assert_confined(w).passed
    True
    >>> assert_confined([w[0], w[0] - 0.1])
    Traceback (most recent call last):
    ...
    AssertionError: assert_confined: 'w' leaves its hyperplane at step 1, unit 0
    ...
    """
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"axis must be an int naming the kept output-unit axis, got {type(axis).__name__} {axis!r}")
    a, slack = check_positive(amplification, "amplification"), check_slack(slack)
    series, starts, dtypes = _weights(trajectory, w0)
    worst = []
    for k, xs in series.items():
        if xs[0].ndim < 2:
            continue
        if not -xs[0].ndim <= axis < xs[0].ndim:
            raise ValueError(f"axis {axis} is out of range for {k!r} of shape {xs[0].shape}")
        kept, averaged = axis % xs[0].ndim, reduction_axes(xs[0].shape, axis)
        M = math.prod(xs[0].shape[i] for i in averaged)
        dtype = dtypes[k] if dtypes[k] in DTYPES else "float64"

        def l1(x: np.ndarray) -> np.ndarray:
            return np.sum(np.abs(x), axis=averaged)

        running = np.zeros(xs[0].shape[kept])
        drifts = []
        for t in range(1, len(xs)):
            running = running + a * gamma(M + 4, dtype) * l1(xs[t] - xs[t - 1]) + gamma(1, dtype) * l1(xs[t])
            drift = np.abs(np.sum(xs[t] - starts[k], axis=averaged)) / math.sqrt(M)
            tol = slack * (running + gamma(M + 1, dtype) * l1(xs[t] - starts[k])) / math.sqrt(M)
            ratio = drift / np.maximum(tol, 1e-300)
            j = int(np.argmax(ratio))
            drifts.append(drift)
            m = Measurement(float(drift[j]), float(tol[j]), float(l1(xs[t])[j]) / math.sqrt(M), f"{k!r} step {t} unit {j}")
            worst.append(m)
            if m.passed:
                continue
            growth = [float(d[j]) for d in drifts]
            lines = [f"{_CWHO}: {k!r} leaves its hyperplane at step {t}, unit {j}",
                     f"  measured |e^T(w_t - w_0)| = {m.residual:.3g}{in_eps(m.residual, dtype, m.scale)}, "
                     f"allowed {m.tolerance:.3g}{in_eps(m.tolerance, dtype, m.scale)} ({dtype}, M = {M})",
                     f"  drift of unit {j} at steps 1..{t}: " + ", ".join(f"{d:.3g}" for d in growth[-6:])]  # fmt: skip
            lines.append("  diagnosis: the weight vector's mean moves already on the first step: GC is missing for this "
                         f"parameter or averages other axes than {averaged} (axis={axis} keeps axis {kept}); an adaptive "
                         "rule (Adam, RMSprop) with GC on the gradient also leaves the plane: centralise the update"
                         if t == 1 else
                         "  diagnosis: the drift grows after steps that stayed on the plane: the state carries a "
                         "non-centralised part (momentum of raw gradients, decoupled weight decay, an adaptive "
                         "division after GC)")  # fmt: skip
            raise AssertionError("\n".join(lines))
    if not worst:
        raise ValueError("no parameter of the trajectory has two or more axes: there is no hyperplane to check")
    return Measurement.worst(worst)
