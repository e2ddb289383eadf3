r"""2-d convolution (cross-correlation, as in PyTorch) by im2col, with stride and zero padding.

The weight is stored ``(out_channels, in_channels, kh, kw)``. Written with
strided slices and one matrix product per batch, so it runs on every array-API
namespace (no ``as_strided``, no fancy indexing).

Notes
-----
im2col gathers, for every output position p, the input patch that the kernel
sees into a column: :math:`X_{col} \in \mathbb{R}^{n \times K \times P}` with
:math:`K = c\,k_h k_w` and :math:`P = o_h o_w`,
:math:`o_h = \lfloor (h + 2\,\mathrm{pad} - k_h)/s \rfloor + 1`. With
:math:`W_{mat} \in \mathbb{R}^{out \times K}` (the stored weight reshaped),

.. math::

    Y = W_{mat} X_{col} + b, \qquad
    \frac{\partial L}{\partial W_{mat}} = \sum_{i=1}^{n} G_i X_{col,i}^\top, \qquad
    \frac{\partial L}{\partial X_{col}} = W_{mat}^\top G,

and col2im adds each column's gradient back onto the input positions it was
read from (overlapping patches add up), then drops the padding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gc_theory.core.validation import check_positive_int
from gc_theory.core.backend import array_namespace
from gc_theory.verify.tolerances import gamma
from ._checks import check_cotangent, check_input
from .layers import Params, _Affine

__all__ = ["Conv2d", "col2im", "conv_output_size", "im2col"]


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length along one axis; a ValueError when the kernel does not fit."""
    out = (size + 2 * padding - kernel) // stride + 1
    if out < 1:
        raise ValueError(f"kernel {kernel} does not fit an input of size {size} with padding {padding}")
    return out


def _pad(x: Any, padding: int) -> Any:
    if padding == 0:
        return x
    xp = array_namespace(x)
    n, c, h, w = x.shape
    out = xp.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=x.dtype)
    out[:, :, padding : padding + h, padding : padding + w] = x
    return out


def _window(i: int, out: int, stride: int) -> slice:
    """The input rows (or columns) that kernel offset i meets, one per output position."""
    return slice(i, i + stride * (out - 1) + 1, stride)


def im2col(x: Any, kernel: tuple[int, int], stride: int, padding: int) -> Any:
    """Patches of `x` (n, c, h, w) as columns: shape (n, c*kh*kw, oh*ow), channel-major like the weight."""
    xp = array_namespace(x)
    kh, kw = kernel
    n, c, h, w = x.shape
    oh, ow = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    xpad = _pad(x, padding)
    patches = [xpad[:, :, _window(i, oh, stride), _window(j, ow, stride)] for i in range(kh) for j in range(kw)]
    return xp.reshape(xp.stack(patches, axis=2), (n, c * kh * kw, oh * ow))


def col2im(cols: Any, shape: tuple[int, ...], kernel: tuple[int, int], stride: int, padding: int) -> Any:
    """The adjoint of :func:`im2col`: add every column entry back to the input position it came from."""
    xp = array_namespace(cols)
    kh, kw = kernel
    n, c, h, w = shape
    oh, ow = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    blocks = xp.reshape(cols, (n, c, kh * kw, oh, ow))
    out = xp.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            rows, columns = _window(i, oh, stride), _window(j, ow, stride)
            out[:, :, rows, columns] = out[:, :, rows, columns] + blocks[:, :, i * kw + j, :, :]
    return out[:, :, padding : padding + h, padding : padding + w]


class Conv2d(_Affine):
    r"""2-d cross-correlation with stride and zero padding, weight ``(out, in, kh, kw)``.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and of the output.
    kernel_size : int or (int, int)
        Kernel height and width.
    stride : int
        Step between output positions (both axes). Default 1.
    padding : int
        Zeros added on every side (both axes). Default 0.
    bias : bool
        Whether the layer has a bias (default True).

    Notes
    -----
    Matches ``torch.nn.functional.conv2d(x, weight, bias, stride, padding)``.
    The backward pass is im2col's adjoint (see the module docstring). The
    rounding bound of one output is that of an inner product of length
    :math:`K + 1 = c\,k_h k_w + 1`. Initialisation is uniform on
    :math:`\pm 1/\sqrt{K}`, as in PyTorch's default.
    """

    input_ndim = 4

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        *,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
    ) -> None:
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        ks = (kernel_size, kernel_size) if isinstance(kernel_size, (int, np.integer)) else tuple(kernel_size)
        if len(ks) != 2:
            raise ValueError(f"kernel_size must be an int or a pair, got {kernel_size!r}")
        self.kernel_size = (check_positive_int(ks[0], "kernel_size"), check_positive_int(ks[1], "kernel_size"))
        self.stride = check_positive_int(stride, "stride")
        self.padding = check_positive_int(padding, "padding", minimum=0)
        self.bias = bool(bias)

    def weight_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.in_channels, *self.kernel_size)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        n, _, h, w = input_shape
        (kh, kw), s, p = self.kernel_size, self.stride, self.padding
        return (n, self.out_channels, conv_output_size(h, kh, s, p), conv_output_size(w, kw, s, p))

    def _conv(self, weight: Any, bias: Any, x: Any) -> tuple[Any, Any]:
        xp = array_namespace(x)
        cols = im2col(x, self.kernel_size, self.stride, self.padding)
        y = xp.matmul(xp.reshape(weight, (self.out_channels, self.fan_in)), cols)
        if bias is not None:
            y = y + bias[:, None]
        return xp.reshape(y, self.output_shape(tuple(x.shape))), cols

    def forward(self, params: Params, x: Any) -> tuple[Any, Any]:
        dtype = self._check_params(params)
        check_input(x, "x", 4, what="(batch, channels, height, width)", dtype=dtype)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"x must have {self.in_channels} channels (axis 1), got shape {tuple(x.shape)}")
        self.output_shape(tuple(x.shape))  # a clear error when the kernel does not fit
        y, cols = self._conv(params["weight"], params.get("bias"), x)
        return y, (cols, tuple(x.shape))

    def backward(self, params: Params, cache: Any, dy: Any) -> tuple[Any, dict[str, Any]]:
        xp = array_namespace(dy)
        cols, x_shape = cache
        check_cotangent(dy, self.output_shape(x_shape), "Conv2d")
        n = dy.shape[0]
        g = xp.reshape(dy, (n, self.out_channels, dy.shape[2] * dy.shape[3]))
        # batched (out, P) @ (P, K) products summed over the batch: faster than one tensordot, which copies
        per_sample = xp.matmul(g, xp.permute_dims(cols, (0, 2, 1)))
        grads = {"weight": xp.reshape(xp.sum(per_sample, axis=0), self.param_shapes()["weight"])}
        if self.bias:
            grads["bias"] = xp.sum(g, axis=(0, 2))
        w_mat = xp.reshape(params["weight"], (self.out_channels, self.fan_in))
        dcols = xp.matmul(w_mat.T, g)
        return col2im(dcols, x_shape, self.kernel_size, self.stride, self.padding), grads

    def error_bound(self, params: Params, x_abs: Any, err: Any) -> tuple[Any, Any]:
        xp = array_namespace(x_abs)
        w_abs = xp.abs(params["weight"])
        y_abs, _ = self._conv(w_abs, xp.abs(params["bias"]) if self.bias else None, x_abs)
        e, _ = self._conv(w_abs, None, err)
        return y_abs, e + gamma(self.fan_in + 1, x_abs.dtype) * y_abs
