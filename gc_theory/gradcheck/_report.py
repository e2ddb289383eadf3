"""What every check's report holds: a verdict, and per item the analytic value, the numerical one and its tolerance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

__all__ = ["CheckReport"]


@dataclass
class CheckReport:
    """The fields and headline shared by :class:`GradientReport`, :class:`DirectionalReport` and :class:`HVPReport`.

    Attributes
    ----------
    passed : bool
        Every counted item agrees within its tolerance.
    verdict : str
        Plain text: what was found, and what to do about it.
    analytic, numerical, relative_error, tolerance : numpy.ndarray
        Per item (an entry of x, or a direction): the value under test, its
        finite-difference counterpart, their relative difference and the
        tolerance it is held to. Host NumPy copies: a report is for reading.
    """

    passed: bool
    verdict: str
    analytic: np.ndarray
    numerical: np.ndarray
    relative_error: np.ndarray
    tolerance: np.ndarray

    #: Names the check in the headline ("gradient check", ...).
    title: ClassVar[str] = "check"

    @property
    def outcome(self) -> str:
        """'PASSED', 'FAILED' or 'INCONCLUSIVE'."""
        if self.passed:
            return "PASSED"
        return "INCONCLUSIVE" if getattr(self, "inconclusive", False) else "FAILED"

    @property
    def status(self) -> str:
        """'passed', 'failed' or 'inconclusive': :attr:`outcome` in lower case, for code that branches on it."""
        return self.outcome.lower()

    @property
    def max_relative_error(self) -> float:
        return float(np.max(self.relative_error))

    def headline(self) -> str:
        outcome = self.outcome
        verdict = self.verdict.removeprefix(f"{outcome.lower()}: ")
        return f"{self.title} {outcome}: {verdict}"
