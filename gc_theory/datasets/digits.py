"""The digits data set (scikit-learn), split, standardised and shaped for the models.

scikit-learn's ``load_digits`` ships inside the scikit-learn wheel: 1797
grey-scale 8x8 images of the digits 0-9, pixel values 0..16. Nothing is
downloaded and nothing is cached on disk.

>>> from gc_theory.datasets import load_digits
>>> d = load_digits(layout="image")
>>> d.x_train.shape[1:], d.x_test.shape[1:], d.n_classes
((1, 8, 8), (1, 8, 8), 10)
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from gc_theory.core.backend import get_namespace, resolve_dtype

__all__ = ["Dataset", "load_digits", "stratified_split"]


@dataclass(frozen=True)
class Dataset:
    """Train and test arrays of one namespace; labels are int64 class indices."""

    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any
    n_classes: int

    @property
    def train(self) -> tuple[Any, Any]:
        return self.x_train, self.y_train

    @property
    def test(self) -> tuple[Any, Any]:
        return self.x_test, self.y_test


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices with each class split in the same proportion (deterministic for a seed).

    Each class contributes ``round(test_fraction * count)`` samples to the
    test set, drawn by a permutation from ``numpy.random.default_rng(seed)``;
    both index arrays are returned sorted.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        n_test = int(round(test_fraction * members.size))
        test.append(rng.permutation(members)[:n_test])
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(labels.size), test_idx)
    return train_idx, test_idx


def load_digits(
    *,
    layout: str = "flat",
    test_fraction: float = 0.25,
    seed: int = 0,
    xp: ModuleType | None = None,
    dtype: Any = "float64",
) -> Dataset:
    """scikit-learn's digits: stratified split, standardised with the training set's statistics.

    Parameters
    ----------
    layout : {"flat", "image"}
        ``"flat"``: inputs of shape (n, 64) for an MLP; ``"image"``: (n, 1, 8, 8) for a CNN.
    test_fraction : float
        Fraction of every class held out for testing (default 0.25: 450 of 1797).
    seed : int
        Seed of the split.
    xp : namespace, optional
        Array namespace of the result (NumPy by default).
    dtype : {"float64", "float32"}
        Dtype of the inputs.

    Notes
    -----
    Each pixel is standardised as :math:`(x - \\mu)/\\sigma` with the mean and
    standard deviation of the *training* images only, so nothing about the
    test set leaks into training; pixels that are constant over the training
    set (corner pixels, always 0) get :math:`\\sigma = 1`.
    """
    if layout not in ("flat", "image"):
        raise ValueError(f"layout must be 'flat' or 'image', got {layout!r}")
    from sklearn.datasets import load_digits as _sklearn_digits

    bunch = _sklearn_digits()
    x = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    train_idx, test_idx = stratified_split(y, test_fraction, seed)
    mean = x[train_idx].mean(axis=0)
    std = x[train_idx].std(axis=0)
    std[std == 0] = 1.0
    x = (x - mean) / std
    if layout == "image":
        x = x.reshape(-1, 1, 8, 8)
    xp = get_namespace() if xp is None else xp
    dt = resolve_dtype(xp, dtype)
    return Dataset(
        x_train=xp.asarray(x[train_idx], dtype=dt),
        y_train=xp.asarray(y[train_idx]),
        x_test=xp.asarray(x[test_idx], dtype=dt),
        y_test=xp.asarray(y[test_idx]),
        n_classes=10,
    )
