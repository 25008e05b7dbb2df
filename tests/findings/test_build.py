"""The findings builder's guard around each estimator."""

from __future__ import annotations

import numpy as np

from evaluate.errors import InputError
from evaluate.findings.build import _try


def test_an_estimator_that_cannot_be_fitted_is_named_not_a_crash():
    assert _try(lambda: 1.0) == (1.0, None)

    def refuses():
        raise InputError("the regressors are collinear with the fixed effects")

    assert _try(refuses) == (None, "the regressors are collinear with the fixed effects")
    value, why = _try(np.linalg.inv, np.zeros((2, 2)))
    assert value is None and "numerically singular" in why
