r"""The functional optimiser protocol: input checks, learning rates and GC placement.

An optimiser is a pair of pure functions on dicts of arrays::

    state = opt.init(params)
    params, state = opt.step(params, grads, state)

``params`` and ``grads`` map names to arrays of any array-API backend. The
state is a typed NamedTuple per optimiser (:class:`~gc_theory.optim.SGDState`,
:class:`~gc_theory.optim.AdamState`, ...): the number of completed steps and
one dict per buffer, keyed like the params, read by attribute
(``state.exp_avg["fc.weight"]``). A step returns *new* arrays and a *new*
state; nothing the caller passed in is modified, so a trajectory can be
replayed from any saved state.

Every optimiser shares the same step skeleton (:meth:`Optimizer.step`)::

    g  <- grad + weight_decay * w          (coupled L2 decay, torch's weight_decay)
    g  <- P g                              if gc == "gradient"
    u, slots <- rule(w, g, slots, lr_t, t) (the optimiser's own update, incl. decoupled decay)
    u  <- P u                              if gc == "update"
    w  <- w - u

where :math:`P = I - e e^\top` acts on each weight vector (each output unit of
a ``(out, in)`` or ``(out, in, kh, kw)`` weight, :func:`gc_theory.centralize`).

GC costs no allocation of its own where the step makes an array anyway: a
gradient the step owns (after coupled decay) is centralised in place, and the
owned centralised gradient is handed to the rule, which may overwrite it into
an array it writes anyway (torch-form momentum takes it as the new buffer,
Adam squares it in place into its :math:`g \odot g` term); a centralised
update is likewise written in place. Only the caller's own gradient is never
touched, so ``gc="gradient"`` without decay makes one centralised copy, which
then replaces a temporary of the rule.

GC placement
------------
``gc="gradient"`` is the GC paper's placement (Algorithms 1-2 of [1]_ and the
reference code's ``SGD_GC``/``Adam_GC``): the gradient is centralised after the
coupled L2 term is added and before any moment sees it. ``gc="update"`` is the
reference code's ``*_GC2`` placement: the final update, including a decoupled
decay term, is centralised just before it is applied; for adaptive methods
only this placement keeps the weights on the hyperplane
:math:`e^\top(w_t - w_0) = 0`. ``gc_conv_only=True`` restricts GC to 4-d
(conv) weights (the reference code's ``*_GCC``). 0-d and 1-d parameters are
never centralised; a weight whose vectors have length 1 (``(out, 1)``,
``(out, 1, 1, 1)``) is skipped with a :class:`GCSkipWarning`, since GC would
zero its gradient and freeze it.

References
----------
.. [1] H. Yong, J. Huang, X. Hua, L. Zhang, "Gradient Centralization: A New
   Optimization Technique for Deep Neural Networks", ECCV 2020, Sec. 3.2 and
   Algorithms 1-2. arXiv:2004.01461.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from gc_theory.core.validation import check_all_finite, check_bool, check_choice, check_floating, check_nonnegative, check_positive
from gc_theory.core.backend import array_namespace, dtype_name
from gc_theory.gc.centralization import centralize, is_centralizable

__all__ = ["GC_MODES", "GCSkipWarning", "LearningRate", "Optimizer", "check_eps", "check_lr"]

#: The accepted values of every optimiser's ``gc`` argument.
GC_MODES: tuple[str | None, ...] = (None, "gradient", "update")

#: A learning rate: a number, or a schedule ``t -> lr`` of the number of completed steps.
LearningRate = float | Callable[[int], float]

Params = Mapping[str, Any]
State = NamedTuple


class GCSkipWarning(UserWarning):
    """A weight GC would freeze (its weight vectors have length 1) is left uncentralised."""


# --- argument checks -----------------------------------------------------------------


def check_lr(lr: Any) -> LearningRate:
    """A learning rate >= 0, or a callable schedule (whose values are checked at each step)."""
    if callable(lr):
        return lr
    return check_nonnegative(lr, "lr")


def check_eps(eps: Any) -> float:
    """A denominator guard > 0: with eps = 0 a zero gradient entry makes the step 0/0."""
    return check_positive(eps, "eps")


def check_gc(gc: Any, gc_conv_only: Any) -> tuple[str | None, bool]:
    return check_choice(gc, "gc", GC_MODES), check_bool(gc_conv_only, "gc_conv_only")


def lr_at(lr: LearningRate, t: int) -> float:
    """The learning rate of the step that starts after `t` completed steps."""
    if not callable(lr):
        return float(lr)
    value = lr(t)
    # A 0-d array (np.asarray(0.1), a CuPy scalar result) is a number to the user: accept it as one.
    if getattr(value, "shape", None) == () and not isinstance(value, numbers.Number):
        try:
            value = float(value)
        except TypeError:
            pass
    try:
        return check_nonnegative(value, "lr")
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"lr schedule returned {value!r} at step {t}; {exc}") from None


def _same_dtype(a: Any, b: Any) -> bool:
    """Equal dtypes, byte order aside: a step returns native-order arrays, and gradients may come big-endian."""
    if isinstance(a, np.dtype) and isinstance(b, np.dtype):
        return a.newbyteorder("=") == b.newbyteorder("=")
    return a == b


def _check_pairs(params: Params, grads: Params, t: int) -> None:
    if not isinstance(params, Mapping) or not isinstance(grads, Mapping):
        bad = "params" if not isinstance(params, Mapping) else "grads"
        raise TypeError(f"{bad} must be a dict of arrays, got {type(params if bad == 'params' else grads).__name__}")
    if params.keys() != grads.keys():
        missing, extra = sorted(set(params) - set(grads)), sorted(set(grads) - set(params))
        raise ValueError(f"grads must have the same keys as params at step {t}: missing {missing}, unexpected {extra}")
    for name, p in params.items():
        g = grads[name]
        check_floating(p, f"params[{name!r}]")
        check_floating(g, f"grads[{name!r}]")
        if tuple(g.shape) != tuple(p.shape):
            raise ValueError(f"grads[{name!r}] has shape {tuple(g.shape)} but params[{name!r}] has shape {tuple(p.shape)}")
        if not _same_dtype(g.dtype, p.dtype):
            raise TypeError(f"grads[{name!r}] has dtype {dtype_name(g.dtype)} but params[{name!r}] has {dtype_name(p.dtype)}")


def _check_finite_grad(g: Any, name: str, t: int) -> None:
    """One reduction on the fast path: a sum is finite only if every entry is."""
    xp = array_namespace(g)
    if math.prod(g.shape) == 0:
        return
    with np.errstate(over="ignore", invalid="ignore"):  # an overflowing sum only sends us to the exact check
        if bool(xp.isfinite(xp.sum(g))):
            return
    try:
        check_all_finite(g, f"grads[{name!r}]")
    except ValueError as exc:
        raise ValueError(f"{exc} at step {t} (the step that starts after {t} completed steps)") from None


def _centralize_owned(x: Any, owned: bool) -> Any:
    """GC of `x`, in place when `x` is a temporary of ours and NumPy can do it in place."""
    if owned and isinstance(x, np.ndarray) and x.flags.c_contiguous and x.flags.writeable:
        return centralize(x, out=x)
    return centralize(x)


# --- the protocol --------------------------------------------------------------------


class Optimizer:
    """Base class of every optimiser: validation, coupled decay, GC placement, schedules.

    A subclass sets :attr:`name` and :attr:`State`, and implements
    :meth:`_init_slot` and :meth:`_rule`. Instances are immutable in spirit:
    hyperparameters are fixed at construction, all progress lives in the
    typed state (:attr:`State`).

    Parameters
    ----------
    lr : float or callable
        Learning rate :math:`\\eta`, or a schedule ``t -> eta_t`` called with the
        number of completed steps (0 for the first step); see
        :mod:`gc_theory.optim.schedules`.
    weight_decay : float
        Coupled (L2) decay: ``weight_decay * w`` is added to the gradient
        before anything else, as in torch.optim. AdamW overrides this with
        decoupled decay.
    gc : {None, "gradient", "update"}
        Where Gradient Centralization is applied (module docstring).
    gc_conv_only : bool
        Centralise only 4-d (conv) weights.
    """

    name: str = "optimizer"
    #: The typed state: a NamedTuple of ``step`` and one dict of arrays per buffer (torch.optim's names).
    State: type = NamedTuple
    #: True when weight_decay enters the gradient (L2); False when the rule decays the weights itself.
    coupled_decay: bool = True

    def __init__(self, *, lr: LearningRate, weight_decay: float = 0.0, gc: str | None = None, gc_conv_only: bool = False):
        self.lr = check_lr(lr)
        self.weight_decay = check_nonnegative(weight_decay, "weight_decay")
        self.gc, self.gc_conv_only = check_gc(gc, gc_conv_only)

    # -- what subclasses provide ------------------------------------------------------

    def _init_slot(self, p: Any) -> dict[str, Any]:
        """Fresh per-parameter state for a parameter shaped like `p`."""
        return {}

    def _rule(self, p: Any, g: Any, slot: Mapping[str, Any], lr: float, t: int,
              owned: bool = False) -> tuple[Any, dict[str, Any]]:  # fmt: skip
        """The update u (the step applies w - u) and the new slot, at step t >= 1.

        u must be a new array, or one of the new slot's arrays; never `p`, `g` or an old slot array.
        `owned` says that `g` is a temporary of the step (the decayed or centralised gradient), which
        the rule may overwrite in place to become one of the arrays it writes anyway.
        """
        raise NotImplementedError

    # -- public API -------------------------------------------------------------------

    def hyperparameters(self) -> dict[str, Any]:
        """The constructor arguments, torch.optim's names where they exist."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def replace(self, **changes: Any) -> Optimizer:
        """A new optimiser of the same kind with some hyperparameters changed (e.g. ``gc=None``)."""
        return type(self)(**{**self.hyperparameters(), **changes})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"

    def lr_at(self, t: int) -> float:
        """The learning rate used by the step that starts after `t` completed steps."""
        return lr_at(self.lr, t)

    def centralizes(self, shape: tuple[int, ...]) -> bool:
        """Whether GC touches a parameter of this shape (ignoring `gc` itself)."""
        if len(shape) < 2 or (self.gc_conv_only and len(shape) != 4):
            return False
        return is_centralizable(shape)

    def init(self, params: Params) -> State:
        """The state before the first step: step count 0 and zeroed slots.

        Warns (:class:`GCSkipWarning`) for each weight that GC would freeze and
        therefore leaves alone.
        """
        if not isinstance(params, Mapping):
            raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}")
        slots = {}
        for name, p in params.items():
            check_floating(p, f"params[{name!r}]")
            self._check_eps_in(p, name)
            slots[name] = self._init_slot(p)
            if self.gc is not None and self._gc_eligible(p.shape) and not is_centralizable(p.shape):
                warnings.warn(
                    f"params[{name!r}] of shape {tuple(p.shape)} is not centralised: its weight vectors have "
                    "length 1, so GC would set its gradient to zero and freeze it",
                    GCSkipWarning,
                    stacklevel=2,
                )
        return self._pack(0, slots)

    def gradient_point(self, params: Params, state: State) -> dict[str, Any]:
        """Where the next gradient must be evaluated: `params` itself, except for look-ahead Nesterov."""
        return dict(params)

    def step(self, params: Params, grads: Params, state: State) -> tuple[dict[str, Any], State]:
        """One update. Returns new parameter arrays and a new state; the inputs are not modified.

        Parameters
        ----------
        params : dict of arrays
            The current parameters, any array-API backend, float32 or float64.
        grads : dict of arrays
            The gradient at :meth:`gradient_point` (the parameters themselves,
            except for look-ahead Nesterov): same keys, shapes and dtypes.
        state : NamedTuple
            What :meth:`init` or the previous :meth:`step` returned.

        Returns
        -------
        params : dict of arrays
            New arrays, in the namespace and dtype of the inputs.
        state : NamedTuple
            A new state of the same type, with ``step`` = t + 1.

        Raises
        ------
        ValueError
            If the keys or shapes of `params`, `grads` and `state` differ, a
            gradient has NaN or Inf (the message names the parameter and the
            step), or a learning-rate schedule returns a negative or
            non-finite value.
        TypeError
            If an array is not real floating, or a gradient's dtype differs
            from its parameter's.
        """
        t = self._check_state(state, params)
        _check_pairs(params, grads, t)
        lr = self.lr_at(t)
        new_params: dict[str, Any] = {}
        new_slots: dict[str, Any] = {}
        decay = self.weight_decay if self.coupled_decay else 0.0
        for name, p in params.items():
            g = grads[name]
            _check_finite_grad(g, name, t)
            owned = False
            if decay:
                g = g + decay * p
                owned = True
            gc_here = self.gc is not None and self.centralizes(tuple(p.shape))
            if gc_here and self.gc == "gradient":
                g = _centralize_owned(g, owned)
                owned = True
            slot = {key: buf[name] for key, buf in zip(state._fields[1:], state[1:]) if name in buf}
            update, new_slots[name] = self._rule(p, g, slot, lr, t + 1, owned=owned)
            if gc_here and self.gc == "update":
                # The update may be a slot array too (Ruder's velocity is both): centralise a copy then.
                shared = any(update is a for a in new_slots[name].values())
                update = _centralize_owned(update, not shared)
            new_params[name] = p - update
        return new_params, self._pack(t + 1, new_slots)

    # -- internals --------------------------------------------------------------------

    def _check_eps_in(self, p: Any, name: str) -> None:
        """Refuse an `eps` that is 0 in the parameter's dtype: the same 0/0 as eps = 0."""
        eps = getattr(self, "eps", None)
        if eps is None:
            return
        xp = array_namespace(p)
        tiny = float(xp.finfo(p.dtype).smallest_normal)
        if float(xp.asarray(eps, dtype=p.dtype)) < tiny:
            raise ValueError(
                f"eps={eps!r} rounds below the smallest normal {dtype_name(p.dtype)} number ({tiny:g}), the dtype of "
                f"params[{name!r}]: a zero gradient entry would make the step 0/0; use eps >= {tiny:g}"
            )

    def _gc_eligible(self, shape: tuple[int, ...]) -> bool:
        return len(shape) >= 2 and (not self.gc_conv_only or len(shape) == 4)

    def _pack(self, step: int, slots: Mapping[str, Mapping[str, Any]]) -> Any:
        """Per-parameter slots -> the typed state: one dict per buffer, keyed like the params."""
        buffers = {key: {name: slot[key] for name, slot in slots.items() if key in slot} for key in self.State._fields[1:]}
        return self.State(step, **buffers)

    def _check_state(self, state: Any, params: Params) -> int:
        if not isinstance(state, self.State):
            raise TypeError(f"state must be the {self.State.__name__} returned by {self.name}'s init or step, "
                            f"got {type(state).__name__}")  # fmt: skip
        if not isinstance(params, Mapping):
            return int(state.step)
        for key, buf in zip(state._fields[1:], state[1:]):
            if buf and buf.keys() != params.keys():
                missing, extra = sorted(set(params) - set(buf)), sorted(set(buf) - set(params))
                raise ValueError(f"state.{key} does not match params: no state for {missing}, state for unknown {extra}")
            for name, arr in buf.items():
                if tuple(arr.shape) != tuple(params[name].shape):
                    raise ValueError(f"state.{key}[{name!r}] has shape {tuple(arr.shape)}, "
                                     f"but params[{name!r}] has shape {tuple(params[name].shape)}")  # fmt: skip
        return int(state.step)
