"""The fast nuisance solvers (:mod:`evaluate.did._solvers`) pinned to statsmodels.

Issue 17: the Callaway-Sant'Anna hot loop fits its logit propensity scores by a numpy
Newton-Raphson and its least-squares outcome regressions from Cholesky-solved normal
equations; statsmodels is the reference. Pinned here, to 1e-10:

- the fits themselves (fitted probabilities and ``vcov``; least-squares coefficients);
- every 2x2 estimator (dr, dr_imp, ipw, reg on panels; dr, ipw, reg on repeated
  cross-sections) with the fast solver against the same estimator with statsmodels fits
  *and* against the frozen pre-issue-17 estimators (``tests/did/reference_drdid.py``), which
  also pins the rewritten influence-function assembly: ATT, standard error and every
  influence value, for no / one / several covariates, no / sampling weights and a
  near-separated propensity score (some comparison units trimmed);
- ``callaway_santanna`` end to end (every estimator, never / not-yet comparison, weights,
  covariates, panel and repeated cross-sections) and its four aggregations.

Separated data, which the fast logit declines, must give statsmodels' answer bit for bit.
The last tests perturb the fast solver by 1e-8 and check that the comparisons above then
fail: the pins can fail.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from tests.did import reference_drdid as ref

from evaluate.did import _solvers, callaway_santanna, drdid

TOL = 1e-10

PANEL = {"dr": drdid.dr_panel, "dr_imp": drdid.dr_imp_panel, "ipw": drdid.ipw_panel, "reg": drdid.reg_panel}
RC = {"dr": drdid.dr_rc, "ipw": drdid.ipw_rc, "reg": drdid.reg_rc}
REF_PANEL = {"dr": ref.dr_panel, "dr_imp": ref.dr_imp_panel, "ipw": ref.ipw_panel, "reg": ref.reg_panel}
REF_RC = {"dr": ref.dr_rc, "ipw": ref.ipw_rc, "reg": ref.reg_rc}


# ----------------------------------------------------------------------------- data


def _covariates(rng: np.random.Generator, n: int, kind: str) -> np.ndarray | None:
    """``none``, ``one`` (level and spread of a real covariate), ``several`` (three, one binary)."""
    if kind == "none":
        return None
    x1 = rng.normal(20.0, 8.0, n)
    if kind == "one":
        return x1
    return np.column_stack([x1, rng.normal(size=n), (rng.random(n) < 0.3).astype(float)])


def two_by_two(seed: int, kind: str, *, n: int = 2000, separation: bool = False,
               rc: bool = False) -> dict[str, np.ndarray | None]:
    """A 2x2 data set: treatment depends on the covariates (strongly with ``separation``,
    fitted scores from about 1e-8 to 1 - 1e-8, and a few comparison units with scores above
    the trimming level 0.995)."""
    rng = np.random.default_rng(seed)
    x = _covariates(rng, n, kind)
    z = np.zeros(n) if x is None else (np.atleast_2d(x.T).T[:, 0] - 20.0) / 8.0
    slope = 5.0 if separation else 0.8
    d = (rng.random(n) < 1 / (1 + np.exp(-(-1.0 + slope * z)))).astype(float)
    if separation:
        d[np.argsort(z)[-40::10]] = 0.0  # a few comparison units among the highest scores
    y0 = 1.0 + 0.5 * z + rng.normal(size=n)
    y1 = y0 + 0.3 + 0.4 * z + 1.0 * d + rng.normal(size=n)
    w = rng.uniform(0.3, 3.0, n)
    out = {"x": x, "d": d, "w": w, "y0": y0, "y1": y1}
    if rc:
        post = (rng.random(n) < 0.5).astype(float)
        out["post"] = post
        out["y"] = np.where(post == 1, y1, y0)
    return out


SETTINGS = [(kind, weighted, sep) for kind in ("none", "one", "several") for weighted in (False, True)
            for sep in (False, True) if not (sep and kind == "none")]


def _ids(settings):
    return [f"{k}-{'w' if w else 'now'}{'-sep' if s else ''}" for k, w, s in settings]


# ----------------------------------------------------------------------------- comparisons


def assert_same_2x2(a: tuple[float, np.ndarray], b: tuple[float, np.ndarray], tol: float = TOL) -> None:
    """ATT (absolute), standard error (relative) and influence function (absolute, on the
    scale of the largest influence value) agree to ``tol``."""
    att_a, inf_a = a
    att_b, inf_b = b
    n = len(inf_a)
    assert abs(att_a - att_b) <= tol, (att_a, att_b)
    se_a, se_b = np.sqrt(np.mean(inf_a**2) / n), np.sqrt(np.mean(inf_b**2) / n)
    assert abs(se_a / se_b - 1) <= tol, (se_a, se_b)
    scale = max(1.0, float(np.max(np.abs(inf_b))))
    assert float(np.max(np.abs(inf_a - inf_b))) <= tol * scale


def _run_panel(fn, data: dict, weighted: bool):
    return fn(data["y1"], data["y0"], data["d"], data["x"], data["w"] if weighted else None)


def _run_rc(fn, data: dict, weighted: bool):
    return fn(data["y"], data["post"], data["d"], data["x"], data["w"] if weighted else None)


def _with(solver: str, call):
    with drdid.use_solver(solver):
        return call()


# ----------------------------------------------------------------------------- the fits


@pytest.mark.parametrize(("kind", "weighted", "sep"), SETTINGS, ids=_ids(SETTINGS))
def test_logit_fast_equals_statsmodels(kind, weighted, sep):
    data = two_by_two(11, kind, separation=sep)
    x = drdid._design(data["x"], len(data["d"]))
    w = drdid._weights(data["w"] if weighted else None, len(data["d"]))
    res = _solvers.logit_newton(data["d"], x, w)
    assert res is not None  # the fast solver fits it (no fallback)
    # statsmodels itself: Logit by Newton for equal weights, the binomial GLM for sampling weights
    if weighted:
        sm_fit = sm.GLM(data["d"], x, family=sm.families.Binomial(), var_weights=w).fit(tol=1e-14, maxiter=100)
    else:
        sm_fit = sm.Logit(data["d"], x).fit(method="newton", tol=1e-10, maxiter=100, disp=0)
    p_sm = np.asarray(sm_fit.predict(x))
    assert np.max(np.abs(res[1] - p_sm)) <= TOL
    np.testing.assert_allclose(res[0], sm_fit.params, rtol=1e-8, atol=TOL)
    if sep:
        assert p_sm[data["d"] == 0].max() > 0.995  # trimming is exercised
    p_fast, v_fast = _with("fast", lambda: drdid.logit(data["d"], x, w))
    p_ref, v_ref = _with("statsmodels", lambda: drdid.logit(data["d"], x, w))
    assert np.max(np.abs(p_fast - p_ref)) <= TOL
    np.testing.assert_allclose(v_fast, v_ref, rtol=TOL, atol=0)


@pytest.mark.parametrize("kind", ["none", "one", "several"])
@pytest.mark.parametrize("weighted", [False, True])
def test_wls_fast_equals_statsmodels(kind, weighted):
    data = two_by_two(12, kind)
    n = len(data["d"])
    x = drdid._design(data["x"], n)
    w = drdid._weights(data["w"] if weighted else None, n)
    y = data["y1"] - data["y0"]
    coef = _solvers.wls_normal(_solvers.weighted_gram(x, w), x.T @ (w * y))
    assert coef is not None
    sm_coef = np.asarray(sm.WLS(y, x, weights=w).fit(method="qr").params)
    np.testing.assert_allclose(x @ coef, x @ sm_coef, rtol=0, atol=TOL)
    np.testing.assert_allclose(coef, sm_coef, rtol=TOL * 100, atol=TOL)


def test_wls_ill_conditioned_design_is_left_to_statsmodels():
    """A covariate of mean 1e4 and spread 1 makes the scaled normal matrix ill-conditioned
    (condition number about 1e8): the fast solver declines and the reference is used."""
    rng = np.random.default_rng(3)
    n = 1000
    x = np.column_stack([np.ones(n), 1e4 + rng.normal(size=n)])
    y = 2.0 + 0.5 * x[:, 1] + rng.normal(size=n)
    w = np.ones(n)
    assert _solvers.wls_normal(_solvers.weighted_gram(x, w), x.T @ (w * y)) is None
    got = _with("fast", lambda: drdid._wls_masked(y, x, w, w > 0, _solvers.weighted_gram(x, w)))
    want = np.asarray(sm.WLS(y, x, weights=w).fit(method="qr").params)
    assert np.array_equal(got, want)


def test_separated_logit_is_left_to_statsmodels_exactly():
    """With complete separation there is no maximum: the fast logit declines (silently) and
    the fit is statsmodels' own (the same iterations, the same answer bit for bit, the same
    warnings), as before."""
    rng = np.random.default_rng(4)
    n = 400
    z = rng.normal(size=n)
    d = (z > 0.3).astype(float)
    x = np.column_stack([np.ones(n), z])
    for w in (np.ones(n), rng.uniform(0.5, 2, n)):
        w = w / w.mean()
        with warnings.catch_warnings(record=True) as seen_fast:
            warnings.simplefilter("always")
            assert _solvers.logit_newton(d, x, w) is None
            p_fast, v_fast = _with("fast", lambda w=w: drdid.logit(d, x, w))
        with warnings.catch_warnings(record=True) as seen_ref:
            warnings.simplefilter("always")
            p_ref, v_ref = _with("statsmodels", lambda w=w: drdid.logit(d, x, w))
        assert np.array_equal(p_fast, p_ref) and np.array_equal(v_fast, v_ref)
        # the same warnings (statsmodels' own numerical ones; separation is handled by trimming)
        assert [(m.category, str(m.message)) for m in seen_fast] == [(m.category, str(m.message)) for m in seen_ref]


# ----------------------------------------------------------------------------- the 2x2 estimators


@pytest.mark.parametrize("est", list(PANEL))
@pytest.mark.parametrize(("kind", "weighted", "sep"), SETTINGS, ids=_ids(SETTINGS))
def test_panel_estimators_fast_equal_statsmodels_and_frozen(est, kind, weighted, sep):
    data = two_by_two(21, kind, separation=sep)
    fast = _with("fast", lambda: _run_panel(PANEL[est], data, weighted))
    slow = _with("statsmodels", lambda: _run_panel(PANEL[est], data, weighted))
    frozen = _run_panel(REF_PANEL[est], data, weighted)
    assert_same_2x2(fast, slow)
    assert_same_2x2(fast, frozen)


@pytest.mark.parametrize("est", list(RC))
@pytest.mark.parametrize(("kind", "weighted", "sep"), SETTINGS, ids=_ids(SETTINGS))
def test_rc_estimators_fast_equal_statsmodels_and_frozen(est, kind, weighted, sep):
    data = two_by_two(31, kind, separation=sep, rc=True)
    fast = _with("fast", lambda: _run_rc(RC[est], data, weighted))
    slow = _with("statsmodels", lambda: _run_rc(RC[est], data, weighted))
    frozen = _run_rc(REF_RC[est], data, weighted)
    assert_same_2x2(fast, slow)
    assert_same_2x2(fast, frozen)


def test_dr_imp_flags_agree():
    """The inverse-probability-tilting flag (calibrated, extrapolated, logit fallback) does
    not depend on the solver."""
    for kind, weighted, sep in SETTINGS:
        data = two_by_two(41, kind, separation=sep)
        info_f: dict = {}
        info_s: dict = {}
        _with("fast", lambda d=data, i=info_f, w=weighted: drdid.dr_imp_panel(
            d["y1"], d["y0"], d["d"], d["x"], d["w"] if w else None, info=i))
        _with("statsmodels", lambda d=data, i=info_s, w=weighted: drdid.dr_imp_panel(
            d["y1"], d["y0"], d["d"], d["x"], d["w"] if w else None, info=i))
        assert info_f == info_s


# ----------------------------------------------------------------------------- callaway_santanna


def staggered_panel(n_units: int = 1500, n_periods: int = 5, seed: int = 7) -> pd.DataFrame:
    """Cohorts 3/4/5 and never treated; covariate ``x`` (time-varying) drives selection and
    trends, ``x2`` is noise; unit weights ``w``."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n_units)
    treated = rng.random(n_units) < 1 / (1 + np.exp(-(-0.8 + 0.8 * z)))
    cohort = np.where(treated, rng.choice([3, 4, 5], size=n_units), 0)
    t = np.arange(1, n_periods + 1)
    x = 20 + 8 * z[:, None] + 0.4 * t[None, :] + rng.normal(scale=2.0, size=(n_units, n_periods))
    e = np.where((cohort[:, None] > 0) & (t[None, :] >= cohort[:, None]), t[None, :] - cohort[:, None] + 1, 0)
    y = (rng.normal(scale=2.0, size=n_units)[:, None] + 0.3 * t[None, :] + 0.05 * x
         + 0.15 * z[:, None] * t[None, :] - 0.5 * e + rng.normal(size=(n_units, n_periods)))
    return pd.DataFrame({
        "unit": np.repeat(np.arange(n_units), n_periods),
        "period": np.tile(t, n_units),
        "cohort": np.repeat(cohort, n_periods),
        "y": y.ravel(),
        "x": x.ravel(),
        "x2": rng.normal(size=n_units * n_periods),
        "w": np.repeat(rng.uniform(0.5, 2.0, n_units), n_periods),
    })


def assert_same_cs(a, b, tol: float = TOL) -> None:
    """Two ``callaway_santanna`` results agree: ATT(g, t), SEs, influence functions, pre-test."""
    assert list(a.table["term"]) == list(b.table["term"])
    np.testing.assert_allclose(a.table["estimate"], b.table["estimate"], rtol=0, atol=tol)
    np.testing.assert_allclose(a.table["se"], b.table["se"], rtol=tol, atol=0)
    ia, ib = np.asarray(a.influence), np.asarray(b.influence)
    assert float(np.max(np.abs(ia - ib))) <= tol * max(1.0, float(np.max(np.abs(ib))))
    pa, pb = a.pretest(), b.pretest()
    assert pa["statistic"] == pytest.approx(pb["statistic"], rel=1e-8, nan_ok=True)
    assert a.extra["ps_flag"] == b.extra["ps_flag"]


CS_CASES = [(est, ctrl, w, cov, panel)
            for est, ctrl, w, cov, panel in itertools.product(["dr", "dr_imp", "ipw", "reg"], ["never", "not_yet"],
                                                               [None, "w"], [(), ("x",), ("x", "x2")], [True, False])
            if panel or est != "dr_imp"]


@pytest.fixture(scope="module")
def cs_panel() -> pd.DataFrame:
    return staggered_panel()


@pytest.mark.parametrize(("est", "ctrl", "w", "cov", "panel"), CS_CASES,
                         ids=[f"{e}-{c}-{w or 'now'}-{len(v)}cov-{'panel' if p else 'rc'}" for e, c, w, v, p in CS_CASES])
def test_callaway_santanna_fast_equals_statsmodels(cs_panel, est, ctrl, w, cov, panel):
    data = cs_panel if panel else cs_panel.assign(unit=np.arange(len(cs_panel)))
    kw = dict(outcome="y", unit="unit", time="period", cohort="cohort", covariates=list(cov), control=ctrl,
              estimator=est, weights=w, panel=panel)
    assert_same_cs(callaway_santanna(data, **kw, solver="fast"), callaway_santanna(data, **kw, solver="statsmodels"))


@pytest.mark.parametrize("kind", ["simple", "group", "dynamic", "calendar"])
def test_aggregations_fast_equal_statsmodels(cs_panel, kind):
    kw = dict(outcome="y", unit="unit", time="period", cohort="cohort", covariates=["x"], weights="w",
              bootstrap=199, seed=5)
    a = callaway_santanna(cs_panel, **kw, solver="fast").aggregate(kind)
    b = callaway_santanna(cs_panel, **kw, solver="statsmodels").aggregate(kind)
    np.testing.assert_allclose(a.table["estimate"], b.table["estimate"], rtol=0, atol=TOL)
    # the same multiplier draws: bootstrap SEs agree to float32 products of equal inputs
    np.testing.assert_allclose(a.table["se"], b.table["se"], rtol=1e-6)
    ia, ib = np.asarray(a.extra["influence"]), np.asarray(b.extra["influence"])
    assert float(np.max(np.abs(ia - ib))) <= TOL * max(1.0, float(np.max(np.abs(ib))))


def test_bad_solver_is_refused(cs_panel):
    from evaluate.errors import InputError

    with pytest.raises(InputError, match="solver"):
        callaway_santanna(cs_panel, outcome="y", unit="unit", time="period", cohort="cohort", solver="numpy")
    with pytest.raises(ValueError, match="solver"), drdid.use_solver("scipy"):
        pass


# ----------------------------------------------------------------------------- the pins can fail


def _perturbed_logit(monkeypatch, rel: float) -> None:
    orig = _solvers.logit_newton

    def logit_newton(*args, **kwargs):
        out = orig(*args, **kwargs)
        return None if out is None else (out[0], out[1] * (1 + rel))

    monkeypatch.setattr(_solvers, "logit_newton", logit_newton)


def _perturbed_wls(monkeypatch, rel: float) -> None:
    orig = _solvers.wls_normal

    def wls_normal(*args, **kwargs):
        out = orig(*args, **kwargs)
        return None if out is None else out * (1 + rel)

    monkeypatch.setattr(_solvers, "wls_normal", wls_normal)


@pytest.mark.parametrize("perturb", [_perturbed_logit, _perturbed_wls], ids=["logit", "wls"])
def test_a_1e8_perturbation_of_the_fast_solver_fails_the_2x2_pin(monkeypatch, perturb):
    data = two_by_two(21, "one")
    est = drdid.dr_panel
    slow = _with("statsmodels", lambda: _run_panel(est, data, True))
    assert_same_2x2(_with("fast", lambda: _run_panel(est, data, True)), slow)
    perturb(monkeypatch, 1e-8)
    with pytest.raises(AssertionError):
        assert_same_2x2(_with("fast", lambda: _run_panel(est, data, True)), slow)


@pytest.mark.parametrize("perturb", [_perturbed_logit, _perturbed_wls], ids=["logit", "wls"])
def test_a_1e8_perturbation_of_the_fast_solver_fails_the_cs_pin(monkeypatch, cs_panel, perturb):
    kw = dict(outcome="y", unit="unit", time="period", cohort="cohort", covariates=["x"], estimator="dr")
    slow = callaway_santanna(cs_panel, **kw, solver="statsmodels")
    perturb(monkeypatch, 1e-8)
    with pytest.raises(AssertionError):
        assert_same_cs(callaway_santanna(cs_panel, **kw, solver="fast"), slow)
