r"""Claims about mini-batch gradients drawn without replacement (:mod:`gc_theory.landscape.minibatch`).

``minibatch.covariance.exact``: over all :math:`\binom{N}{B}` batches, the
mini-batch gradient has mean :math:`\bar g` and covariance
:math:`(\Sigma/B)(N-B)/(N-1)`, to rounding, for every B in 1..N.

``minibatch.covariance.sampled``: for logistic regression on N = 500 points,
random batches give a total variance within z = 4 standard errors of the trace
of the formula.

Both controls use the with-replacement formula :math:`\Sigma/B` at B close to
N, which overstates the noise by a factor :math:`(N-1)/(N-B)`.

References
----------
.. [1] W. G. Cochran, *Sampling Techniques*, 3rd ed., Wiley, 1977, Thm. 2.2.
"""

from __future__ import annotations

import math


from gc_theory.problems import gaussian_classes, logistic_loss
from gc_theory.landscape.minibatch import batch_covariance, enumerated_moments, sampled_variance
from gc_theory.verify.tolerances import gamma
from . import Context, Measurement, claim

#: Exact enumeration: examples and parameters.
N_EXACT, P_EXACT = 9, 3
#: Sampling: examples, features, batches drawn, and the z of the tolerance (two-sided p ~ 6e-5).
N_SAMPLED, P_SAMPLED, DRAWS, Z = 500, 8, 1000, 4.0


@claim(
    "minibatch.covariance.exact",
    statement="over all C(N, B) batches drawn without replacement the mini-batch gradient is unbiased "
    "with covariance (Sigma/B)(N-B)/(N-1)",
    source="Cochran (1977), Thm. 2.2; Smith et al. (2021), Sec. 2",
    control="the with-replacement covariance Sigma/B, at B = N-1 and N",
)
def _exact(ctx: Context, control: bool):
    xp = ctx.xp
    g = ctx.spawn("gradients").normal(N_EXACT, P_EXACT) + ctx.spawn("offset").normal(P_EXACT)
    big = float(xp.max(xp.abs(g)))
    for b in range(N_EXACT - 1, N_EXACT + 1) if control else range(1, N_EXACT + 1):
        moments = enumerated_moments(g, b)
        # Entrywise: K-term means of B-term means, then K-term sums of products of centred means
        # (each at most 2 max|g| in size): gamma_{K+B+N} (2 max|g|)^2.
        scale = 4.0 * big**2
        tol = gamma(math.comb(N_EXACT, b) + b + N_EXACT, ctx.dtype) * scale
        formula = batch_covariance(g, b, replacement=control)
        cov_gap = float(xp.max(xp.abs(moments.covariance - formula)))
        mean_gap = float(xp.max(xp.abs(moments.mean - xp.mean(g, axis=0))))
        yield Measurement(cov_gap, tol, scale, f"covariance, B={b} of N={N_EXACT}")
        if not control:
            yield Measurement(mean_gap, tol, scale, f"mean, B={b} of N={N_EXACT}")


@claim(
    "minibatch.covariance.sampled",
    statement="random batches without replacement (logistic regression, N = 500) have total variance "
    "tr(Sigma)(N-B)/(B(N-1)) within 4 standard errors",
    source="Cochran (1977), Thm. 2.2",
    control="the with-replacement total variance tr(Sigma)/B at B = 0.9 N",
)
def _sampled(ctx: Context, control: bool):
    x, y = gaussian_classes(N_SAMPLED, P_SAMPLED, ctx.spawn("data").rng)
    w = 0.3 * ctx.spawn("weights").rng.standard_normal(P_SAMPLED)
    g = logistic_loss(ctx.asarray(x), ctx.asarray(y)).per_example_grads(ctx.asarray(w))
    for b in (int(0.9 * N_SAMPLED),) if control else (10, int(0.5 * N_SAMPLED), int(0.9 * N_SAMPLED)):
        estimate = sampled_variance(g, b, DRAWS, ctx.spawn(f"batches B={b}").rng)
        predicted = float(ctx.xp.sum(ctx.xp.linalg.diagonal(batch_covariance(g, b, replacement=control))))
        detail = f"B={b}: sampled {estimate.mean:.4g} +- {estimate.standard_error:.2g}, formula {predicted:.4g}"
        yield Measurement(abs(estimate.mean - predicted), Z * estimate.standard_error, None, detail)
