"""The monotone logistic regression behind the FAQ re-ranker and its confidence."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from nlp.monotone import fit_nonnegative_logistic


def _two_correlated_features(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Two views of one signal where the second also carries something that speaks against the label: fitted
    freely, the second one's weight goes negative."""
    rng = np.random.default_rng(0)
    signal, extra = rng.normal(size=n), rng.normal(size=n)
    x = np.stack([signal, signal + extra], axis=1)
    y = (signal - 0.5 * extra + 0.2 * rng.normal(size=n) > 0).astype(float)
    return x, y


def test_no_coefficient_goes_negative_and_a_rising_feature_never_lowers_the_score() -> None:
    x, y = _two_correlated_features()
    free = LogisticRegression(C=1.0).fit(x, y).coef_[0]
    assert free.min() < 0  # the case the constraint is for
    coef, intercept = fit_nonnegative_logistic(x, y)
    assert coef.min() >= 0 and coef[0] > 0
    low, high = np.array([0.5, 0.0]), np.array([0.5, 1.0])
    assert high @ coef + intercept >= low @ coef + intercept


def test_without_a_binding_constraint_it_fits_as_sklearn_does() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 3))
    y = (x @ np.array([1.0, 2.0, 0.5]) + 0.3 * rng.normal(size=300) > 0).astype(float)
    weights = rng.uniform(0.5, 2.0, size=300)
    coef, intercept = fit_nonnegative_logistic(x, y, weights, c=1.0)
    ref = LogisticRegression(C=1.0, max_iter=2000).fit(x, y, sample_weight=weights)
    assert np.allclose(coef, ref.coef_[0], atol=1e-3) and abs(intercept - ref.intercept_[0]) < 1e-3
