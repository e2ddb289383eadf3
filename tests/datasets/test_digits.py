"""The digits data: deterministic stratified split, train-only standardisation, layouts and dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from gc_theory.core.backend import to_numpy
from gc_theory.datasets import load_digits, stratified_split


def test_split_is_stratified_disjoint_complete_and_deterministic() -> None:
    labels = np.repeat(np.arange(4), [10, 20, 30, 40])
    train, test = stratified_split(labels, 0.25, seed=1)
    assert np.intersect1d(train, test).size == 0 and train.size + test.size == labels.size
    assert np.array_equal(np.bincount(labels[test]), [2, 5, 8, 10])  # round(0.25 * count) per class
    again = stratified_split(labels, 0.25, seed=1)
    assert np.array_equal(test, again[1])
    assert not np.array_equal(test, stratified_split(labels, 0.25, seed=2)[1])


def test_digits_layouts_sizes_and_standardisation() -> None:
    flat, image = load_digits(layout="flat"), load_digits(layout="image")
    assert flat.x_train.shape == (1347, 64) and flat.x_test.shape == (450, 64)
    assert image.x_train.shape == (1347, 1, 8, 8)
    assert np.array_equal(image.x_train.reshape(-1, 64), flat.x_train)
    assert flat.y_train.dtype == np.int64 and set(np.unique(flat.y_test)) == set(range(10))
    mean, std = flat.x_train.mean(axis=0), flat.x_train.std(axis=0)
    assert np.max(np.abs(mean)) < 1e-12
    assert np.allclose(std[std > 0], 1.0)  # constant pixels stay 0 (their std is taken as 1)
    assert abs(flat.x_test.mean()) > 1e-6  # the test set is scaled with the training statistics, not its own


def test_digits_in_another_namespace_and_dtype(xp) -> None:
    d = load_digits(xp=xp, dtype="float32")
    assert d.x_train.dtype == xp.float32
    np.testing.assert_allclose(to_numpy(d.x_test), load_digits().x_test, rtol=1e-6, atol=1e-6)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="layout must be"):
        load_digits(layout="square")
    with pytest.raises(ValueError, match="test_fraction must lie in"):
        load_digits(test_fraction=1.0)
