"""The rubric classifier's plain-array logistic regression gives sklearn's probabilities."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from feedback.engines.rubric_classifier import _ScaledLogistic


@pytest.mark.parametrize("labels", [["absent", "strong"], ["absent", "strong", "weak"]])
def test_same_probabilities_as_sklearn(labels):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 9)) * rng.uniform(0.1, 5, size=9) + rng.normal(size=9)
    y = [labels[i % len(labels)] for i in range(60)]
    x[np.arange(60) % len(labels) == 1, 0] += 2.0  # something to learn
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced").fit(scaler.transform(x), y)
    fast = _ScaledLogistic.from_fitted(scaler=scaler, model=model)
    assert fast.classes == labels
    for row in rng.normal(size=(20, 9)):
        expected = model.predict_proba(scaler.transform(row.reshape(1, -1)))[0]
        assert np.allclose(fast.predict_proba(row), expected, atol=1e-9)
