"""What a check is made of: a context, a measurement, a derived tolerance, a fitted order.

* :mod:`.context`: :class:`~gc_theory.verify.context.Context`, the backend,
  dtype and seeded random streams a check runs in (``ctx.spawn(label)`` gives
  each case an independent stream);
* :mod:`.measurement`: :class:`~gc_theory.verify.measurement.Measurement`, a
  residual against its tolerance, with its scale and where it was measured;
* :mod:`.tolerances`: floating-point error bounds (unit roundoff, Higham's gamma_n);
* :mod:`.order_fit`: the order of an error on a ladder of steps (slopes,
  with the error left by the fit), and slopes of noisy errors.
"""

from .context import Context
from .measurement import Measurement

__all__ = ["Context", "Measurement"]
