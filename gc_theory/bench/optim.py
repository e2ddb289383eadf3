"""An optimiser step with GC against the same step without it (SGD-momentum and Adam).

Target (CPU, a model of ~10M parameters): a step with GC, in either placement,
costs at most 1.2x the same step without GC. The parameter set has the
shapes of ResNet-18 (11.7M parameters: 7x7 and 3x3 convolutions, 1x1
projections, a 1000x512 classifier, 1-d norm scales and biases), so the mix of
centralised and skipped tensors is a real one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gc_theory import optim
from . import Report, benchmark
from .timing import interleaved

TARGET = 1.2


def resnet18_shapes() -> list[tuple[int, ...]]:
    """Parameter shapes of ResNet-18 (He et al., 2016) for 1000 classes."""
    shapes: list[tuple[int, ...]] = [(64, 3, 7, 7), (64,), (64,)]
    c_in = 64
    for c, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        for block in range(2):
            shapes += [(c, c_in if block == 0 else c, 3, 3), (c,), (c,), (c, c, 3, 3), (c,), (c,)]
            if block == 0 and (stride != 1 or c_in != c):
                shapes += [(c, c_in, 1, 1), (c,), (c,)]
        c_in = c
    return shapes + [(1000, 512), (1000,)]


def _model(shapes: list[tuple[int, ...]], dtype: str, rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
    params = {f"p{i}": rng.standard_normal(s).astype(dtype) for i, s in enumerate(shapes)}
    grads = {k: rng.standard_normal(v.shape).astype(dtype) for k, v in params.items()}
    return params, grads


def _step_fn(make: Any, gc: str | None, params: dict, grads: dict) -> Callable[[], Any]:
    opt = make(gc)
    _, state = opt.step(params, grads, opt.init(params))  # a warm, nonzero state
    return lambda: opt.step(params, grads, state)


@benchmark("optim_step")
def bench_optim_step(repeats: int = 7, quick: bool = False) -> Report:
    rng = np.random.default_rng(0)
    shapes = resnet18_shapes()
    if quick:  # the same mix at a quarter of the width (~0.7M parameters): a smoke test, no target
        shapes = [tuple(d // 4 if i < 2 and d not in (3, 1000) else d for i, d in enumerate(s)) for s in shapes]
    optimisers = {
        "sgd momentum=0.9 wd=5e-4": lambda gc: optim.SGD(0.1, momentum=0.9, weight_decay=5e-4, gc=gc),
        "adam": lambda gc: optim.Adam(1e-3, gc=gc),
    }
    headers = ["optimiser", "dtype", "params (M)", "no GC ms", "gc=gradient ms", "ratio", "gc=update ms", "ratio"]
    rows, data, met = [], [], []
    for dtype in ("float32", "float64"):
        params, grads = _model(shapes, dtype, rng)
        n = sum(p.size for p in params.values())
        for label, make in optimisers.items():
            base, grad_gc, upd_gc = interleaved([_step_fn(make, gc, params, grads) for gc in (None, "gradient", "update")], repeats)
            r_grad, r_upd = grad_gc.median / base.median, upd_gc.median / base.median
            rows.append([label, dtype, round(n / 1e6, 2), base.median * 1e3, grad_gc.median * 1e3, r_grad,
                         upd_gc.median * 1e3, r_upd])  # fmt: skip
            data.append({"optimiser": label, "dtype": dtype, "params": n, "no_gc_s": base.median,
                         "gc_gradient_s": grad_gc.median, "gc_update_s": upd_gc.median,
                         "no_gc_min_s": base.min, "gc_gradient_min_s": grad_gc.min, "gc_update_min_s": upd_gc.min})  # fmt: skip
            met += [r_grad <= TARGET, r_upd <= TARGET]
    report = Report("optimiser step with and without GC (ResNet-18 shapes, CPU, medians)", headers, rows, data=data)
    if quick:
        report.notes.append(f"--quick: the {TARGET}x target is for ~10M parameters and is not checked here")
    else:
        report.targets[f"GC step <= {TARGET}x the step without GC (both placements, SGD-momentum and Adam)"] = all(met)
    report.notes.append("the three variants are timed in turn, round after round; ratios are of medians")
    report.notes.append("GC applies to the 4-d and 2-d weights; 1-d scales and biases are skipped, as in the reference code")
    return report
