"""What a check or a problem generator runs with: a namespace, a dtype and a seeded generator.

:class:`Context` sits below the numerics so that problem generators
(:mod:`gc_theory.problems`), figures and benchmarks can take one without
importing the claims registry.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from gc_theory.core.backend import finfo_eps, get_namespace, resolve_dtype

__all__ = ["Context"]


@dataclass(frozen=True)
class Context:
    """What a check runs with: a namespace, a dtype and a seeded generator.

    Random numbers are drawn on the host from `rng` and moved with
    :meth:`asarray`, so a seed gives the same numbers on every backend.
    """

    xp: ModuleType
    dtype: Any
    rng: np.random.Generator
    seed: int = 0

    @property
    def eps(self) -> float:
        return finfo_eps(self.dtype)

    @property
    def dtype_name(self) -> str:
        return str(np.dtype(self.np_dtype))

    @property
    def np_dtype(self) -> type[np.floating[Any]]:
        return np.float64 if "64" in str(self.dtype) else np.float32

    def asarray(self, host: Any) -> Any:
        """Host data -> an array of this context's namespace and dtype."""
        return self.xp.asarray(np.asarray(host, dtype=self.np_dtype))

    def normal(self, *shape: int) -> Any:
        """Standard normal samples of `shape`, as an array of this context."""
        return self.asarray(self.rng.standard_normal(shape))

    salt: str = ""

    @classmethod
    def create(cls, backend: str = "numpy", dtype: str = "float64", seed: int = 0, salt: str = "") -> Context:
        """A context whose generator depends on `seed` and `salt` (a claim id) only."""
        xp = get_namespace(backend)
        return cls(xp=xp, dtype=resolve_dtype(xp, dtype), rng=_generator(seed, salt), seed=seed, salt=salt)

    def spawn(self, label: str) -> Context:
        """A context with the same namespace and dtype and an independent generator for the case `label`.

        The stream depends only on the seed, this context's salt and `label`, so
        a case draws the same numbers whatever other cases ran before it, and
        adding a case to a claim leaves the others' data unchanged.
        """
        salt = f"{self.salt}/{label}"
        return Context(xp=self.xp, dtype=self.dtype, rng=_generator(self.seed, salt), seed=self.seed, salt=salt)


def _generator(seed: int, salt: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(salt.encode())])
