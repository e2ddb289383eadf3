"""WeightNorm forward + backward against the plain layer and torch's parametrised layer.

Target (CPU, float64): a WeightNorm Linear or Conv2d forward + backward costs at
most 1.2x the plain layer's on the layer shapes of ResNet-18. Where v is larger
than the output the layer scales its output instead of forming w, so its extra
work is the norm (one pass over v), the projection of the weight gradient in
place (one more) and a few passes over the output; elsewhere it forms w and
its extra work is a few passes over v. Either is small against the layer's
O(|v| * batch * positions). torch's ``parametrizations.weight_norm`` on the
same shapes runs in the same run, with its plain layer beside it so that its
own WN/plain ratio can be read off. Both sides run on one thread: the
toolkit's layers under a one-thread BLAS limit, torch with one intra-op
thread. The toolkit's plain and WN steps are timed alternately, so that a
change in the machine's load hits both alike.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from gc_theory.models import Conv2d, Linear, WeightNorm
from . import Report, benchmark, torch_available, torch_one_thread_median
from .timing import interleaved

#: (label, layer, input shape): the distinct layer shapes of ResNet-18 at a small batch.
CASES = (
    ("fc 512->1000", Linear(512, 1000), (64, 512)),
    ("conv1 7x7 3->64 s2", Conv2d(3, 64, 7, stride=2, padding=3), (8, 3, 56, 56)),
    ("3x3 64->64", Conv2d(64, 64, 3, padding=1), (8, 64, 28, 28)),
    ("3x3 128->128", Conv2d(128, 128, 3, padding=1), (8, 128, 14, 14)),
    ("3x3 256->256", Conv2d(256, 256, 3, padding=1), (8, 256, 7, 7)),
    ("3x3 512->512", Conv2d(512, 512, 3, padding=1), (4, 512, 4, 4)),
    ("1x1 256->512 s2", Conv2d(256, 512, 1, stride=2), (8, 256, 8, 8)),
)
QUICK_CASES = CASES[:1] + CASES[4:5]
RATIO_TARGET = 1.2


def _step(layer: Any, params: dict[str, Any], x: np.ndarray, dy: np.ndarray) -> Any:
    y, cache = layer.forward(params, x)
    return layer.backward(params, cache, dy)


def _torch_step(layer: Any, params: dict[str, Any], x: np.ndarray, dy: np.ndarray, *, normalised: bool) -> Any:
    """torch's layer with the same weights (``parametrizations.weight_norm``, dim=0, when `normalised`); None without torch."""
    try:
        import torch
        from torch.nn.utils.parametrizations import weight_norm
    except ImportError:
        return None
    if isinstance(layer, Linear):
        module = torch.nn.Linear(layer.in_features, layer.out_features)
    else:
        module = torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                 stride=layer.stride, padding=layer.padding)
    module = module.double()
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(params["v"]))
        module.bias.copy_(torch.from_numpy(params["bias"]))
    if normalised:
        module = weight_norm(module, dim=0)
    xt, dyt = torch.from_numpy(x), torch.from_numpy(dy)

    def step() -> None:
        module.zero_grad(set_to_none=True)
        module(xt).backward(dyt)

    return step


@benchmark("weightnorm")
def bench_weightnorm(repeats: int = 7, quick: bool = False) -> Report:
    rng = np.random.default_rng(0)
    headers = ["case", "plain ms", "WN ms", "WN/plain", "torch-1t plain ms", "torch-1t WN ms", "torch WN/plain", "WN/torch-1t WN"]
    rows, data, met = [], [], []
    for label, layer, x_shape in QUICK_CASES if quick else CASES:
        wn = WeightNorm(layer)
        params = wn.init(rng)
        plain = {"weight": params["v"] * 1.0, "bias": params["bias"]}
        x = rng.standard_normal(x_shape)
        dy = rng.standard_normal(layer.output_shape(x_shape))
        with threadpool_limits(limits=1, user_api="blas"):
            t_plain, t_wn = interleaved((lambda: _step(layer, plain, x, dy), lambda: _step(wn, params, x, dy)), repeats)
        torch_plain = torch_one_thread_median(_torch_step(layer, params, x, dy, normalised=False), repeats)
        torch_wn = torch_one_thread_median(_torch_step(layer, params, x, dy, normalised=True), repeats)
        ratio = t_wn.median / t_plain.median
        met.append(ratio <= RATIO_TARGET)
        rows.append([label, t_plain.median * 1e3, t_wn.median * 1e3, ratio, torch_plain * 1e3, torch_wn * 1e3,
                     torch_wn / torch_plain, t_wn.median / torch_wn])
        data.append({"case": label, "input": list(x_shape), "plain_s": t_plain.median, "weightnorm_s": t_wn.median,
                     "plain_min_s": t_plain.min, "weightnorm_min_s": t_wn.min, "torch_1thread_plain_s": None if math.isnan(torch_plain) else torch_plain,
                     "torch_1thread_s": None if math.isnan(torch_wn) else torch_wn})
    report = Report("WeightNorm forward + backward (float64, CPU, medians)", headers, rows, data=data)
    report.targets[f"WeightNorm <= {RATIO_TARGET}x the plain layer on every shape"] = all(met)
    report.notes.append("one thread on both sides: NumPy's BLAS limited with threadpoolctl, torch.set_num_threads(1)")
    report.notes.append("where v is larger than the output, WN scales the plain layer's output by g/||v|| instead of "
                        "forming w and projects the weight gradient in place, allocating nothing the size of v (whose "
                        "first touch, page faults, would cost more than the arithmetic); elsewhere it forms w")
    if not torch_available():
        report.notes.append("torch not installed: its columns are NaN")
    return report
