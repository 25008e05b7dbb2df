"""Two-group, two-period DiD estimators and their influence functions (Sant'Anna and Zhao, 2020).

These are the building blocks of :func:`evaluate.did.callaway_santanna`, written to
reproduce R's ``DRDID`` package as R ``did`` calls it:

- :func:`dr_panel` — ``DRDID::drdid_panel`` (locally efficient doubly robust, logit
  propensity score by maximum likelihood, outcome regression by weighted least squares);
- :func:`dr_imp_panel` — ``DRDID::drdid_imp_panel`` (improved locally efficient doubly
  robust: propensity score by inverse probability tilting, outcome regression weighted by the
  odds of treatment);
- :func:`ipw_panel` — ``DRDID::std_ipw_did_panel`` (normalised inverse probability weights);
- :func:`reg_panel` — ``DRDID::reg_did_panel`` (outcome regression);
- :func:`reg_rc` — ``DRDID::reg_did_rc`` (outcome regression, repeated cross-sections);
- :func:`dr_rc` — ``DRDID::drdid_rc`` (locally efficient doubly robust, repeated cross-sections);
- :func:`ipw_rc` — ``DRDID::std_ipw_did_rc`` (normalised IPW, repeated cross-sections).

Every function returns ``(att, influence)`` where ``influence`` has one entry per
observation and mean zero, so that ``sqrt(mean(influence**2) / n)`` is the standard error.

The nuisance models (logit propensity score, weighted least-squares outcome regressions) are
fitted in numpy by default (:mod:`evaluate.did._solvers`: Newton-Raphson, Cholesky of the
scaled normal equations), with statsmodels as the reference and the fallback for fits the
fast solver declines (separation, ill-conditioned designs); :func:`use_solver` switches to
statsmodels for every fit. ``tests/did/test_solvers.py`` pins the two to 1e-10.
"""

from __future__ import annotations

import contextlib
import hashlib
import warnings
from collections.abc import Iterator
from contextvars import ContextVar

import numpy as np
import statsmodels.api as sm
from scipy.special import expit
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from evaluate.did import _solvers

__all__ = ["dr_panel", "dr_imp_panel", "ipw_panel", "reg_panel", "reg_rc", "dr_rc", "ipw_rc", "logit",
           "use_solver", "current_solver", "SOLVERS"]

_TRIM_LEVEL = 0.995

# Propensity-score fits shared within one estimation (see shared_fits).
_FITS: ContextVar[dict[bytes, tuple[np.ndarray, np.ndarray]] | None] = ContextVar("_FITS", default=None)

#: The nuisance-fit solvers: ``"fast"`` (numpy, :mod:`evaluate.did._solvers`, the default) and
#: ``"statsmodels"`` (the reference).
SOLVERS = ("fast", "statsmodels")
_SOLVER: ContextVar[str] = ContextVar("_SOLVER", default="fast")


@contextlib.contextmanager
def use_solver(solver: str) -> Iterator[None]:
    """Fit the logit and least-squares nuisance models with ``solver`` inside this block.

    ``"fast"`` (the default) fits them with numpy (Newton-Raphson for the logit, Cholesky
    of the scaled normal equations for least squares; :mod:`evaluate.did._solvers`) and
    falls back to statsmodels for a fit it cannot do cleanly (separation, ill-conditioned
    designs); ``"statsmodels"`` fits every one with statsmodels, the reference the fast
    solver is tested against (to 1e-10 on every estimate, standard error and influence
    function).

    Parameters
    ----------
    solver
        ``"fast"`` or ``"statsmodels"``.
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be 'fast' or 'statsmodels', not {solver!r}")
    token = _SOLVER.set(solver)
    try:
        yield
    finally:
        _SOLVER.reset(token)


def current_solver() -> str:
    """The nuisance-fit solver in use (see :func:`use_solver`)."""
    return _SOLVER.get()


@contextlib.contextmanager
def shared_fits() -> Iterator[None]:
    """Reuse identical logit fits inside this block.

    Group-time cells of one cohort often fit the very same propensity score (same units,
    same treatment indicator, covariates that do not change between base periods), so
    :func:`callaway_santanna` fits each distinct one once. The key is a hash of the exact
    bytes of ``(d, x, w)``, so a reused fit is the fit that would have been computed.
    """
    token = _FITS.set({})
    try:
        yield
    finally:
        _FITS.reset(token)


# Keys of the current cell's propensity-score fit, given by a caller that knows which cells
# share (d, x, w) (see cell_keys); None: hash the arrays.
_CELL: ContextVar[tuple[bytes, bytes] | None] = ContextVar("_CELL", default=None)


@contextlib.contextmanager
def cell_keys(fit: bytes, units: bytes) -> Iterator[None]:
    """Name the propensity-score fit of the estimator called inside this block.

    Inside :func:`shared_fits`, a caller that knows which of its 2x2 estimations fit the very
    same ``(d, x, w)`` (as :func:`callaway_santanna` does from the cells' units, base periods
    and weight periods) names that fit ``fit`` and its units and treatment ``units`` (the warm
    start of :func:`logit`), so that the arrays need not be hashed. The caller guarantees that
    equal names mean equal arrays.

    Parameters
    ----------
    fit
        Name of the ``(d, x, w)`` of the one logit (and inverse probability tilting) fit in
        the block.
    units
        Name of ``d`` (units and treatment indicator).
    """
    token = _CELL.set((fit, units))
    try:
        yield
    finally:
        _CELL.reset(token)


def _fit_key(d: np.ndarray, x: np.ndarray, w: np.ndarray) -> bytes:
    """The cache key of the fit on ``(d, x, w)``: the caller's name for it, else a hash."""
    cell = _CELL.get()
    return cell[0] if cell is not None else _key(d, x, w)


def _start_key(d: np.ndarray) -> bytes:
    """The cache key of the warm start for fits on the units and treatment ``d``."""
    cell = _CELL.get()
    return b"start" + (cell[1] if cell is not None else _key(d))


def _key(*arrays: np.ndarray) -> bytes:
    h = hashlib.blake2b(digest_size=20)
    for a in arrays:
        a = np.ascontiguousarray(a, dtype=float)
        h.update(str(a.shape).encode())
        h.update(a.view(np.uint8))
    return h.digest()


def _design(covariates: np.ndarray | None, n: int) -> np.ndarray:
    """An intercept followed by the covariates (as R's ``cbind(1, covariates)``).

    Column-major: the estimators only take column sums and products with the design, which
    BLAS does fastest on contiguous columns.
    """
    if covariates is None or np.size(covariates) == 0:
        return np.ones((n, 1))
    x = np.asarray(covariates, dtype=float).reshape(n, -1)
    if np.all(x[:, 0] == 1.0):
        return np.asfortranarray(x)
    out = np.empty((n, x.shape[1] + 1), order="F")
    out[:, 0] = 1.0
    out[:, 1:] = x
    return out


def _mean_x(weight: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``(weight[:, None] * x).mean(axis=0)``: the weighted column means of the design."""
    return (x.T @ weight) / len(weight)


class _Rep:
    """An asymptotic linear representation ``diag(r) @ x @ m`` (``n x k``), kept factored.

    ``rep @ v`` is ``r * (x @ (m @ v))``: the influence-function terms only ever need the
    representation times a ``k``-vector, so the ``n x k`` matrix is never formed.
    """

    __slots__ = ("r", "x", "m")

    def __init__(self, r: np.ndarray, x: np.ndarray, m: np.ndarray) -> None:
        self.r, self.x, self.m = r, x, m

    def __matmul__(self, v: np.ndarray) -> np.ndarray:
        return self.r * (self.x @ (self.m @ v))

    def matrix(self) -> np.ndarray:
        """The ``n x k`` matrix itself."""
        return (self.x * self.r[:, None]) @ self.m


def _weights(i_weights: np.ndarray | None, n: int) -> np.ndarray:
    if i_weights is None:
        return np.ones(n)  # = ones / mean(ones), exactly
    w = np.asarray(i_weights, dtype=float)
    return w / w.mean()


def _panel_inputs(y1: np.ndarray, y0: np.ndarray, d: np.ndarray, covariates: np.ndarray | None,
                  i_weights: np.ndarray | None) -> tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]:
    """The common inputs of the panel estimators: treatment, size, outcome change, design, weights."""
    d = np.asarray(d, dtype=float)
    n = len(d)
    dy = np.asarray(y1, dtype=float) - np.asarray(y0, dtype=float)
    return d, n, dy, _design(covariates, n), _weights(i_weights, n)


def logit(d: np.ndarray, x: np.ndarray, w: np.ndarray, *, tol: float = 1e-14,
          max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logit by maximum likelihood (as R's ``glm``).

    With the fast solver (the default, see :func:`use_solver`) the maximum is found by
    Newton-Raphson in numpy (:func:`evaluate.did._solvers.logit_newton`), warm-started from
    the last fit with the same units and treatment; a fit that does not converge cleanly
    (separation, fitted probabilities within 1e-12 of 0 or 1) is left to statsmodels. With
    ``"statsmodels"`` (the reference), equal weights use ``statsmodels`` ``Logit`` by Newton's
    method, unequal weights (or a failed Newton) the ``GLM`` with binomial family, prior
    weights and IRLS. All maximise the same likelihood (tested equal to 1e-10).

    Parameters
    ----------
    d
        0/1 outcome.
    x
        Design matrix whose first column is the intercept.
    w
        Prior weights.

    Returns
    -------
    fitted, hessian_inv
        Fitted probabilities and ``(X' diag(w p (1-p)) X)^{-1}`` (R's ``vcov(glm)``).
    """
    p, inv = _logit(d, x, w, tol=tol, max_iter=max_iter)
    return p.copy(), inv.copy()


def _logit(d: np.ndarray, x: np.ndarray, w: np.ndarray, *, tol: float = 1e-14,
           max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """:func:`logit` without copies: the arrays may be the cache's own (do not modify them)."""
    cache = _FITS.get()
    key = _fit_key(d, x, w) if cache is not None else b""
    if cache is not None and key in cache:
        return cache[key]
    start_key = _start_key(d) if cache is not None else b""
    p = None
    if _SOLVER.get() == "fast":
        p = _logit_fast(d, x, w, cache, start_key)
    if p is None:
        p = _logit_statsmodels(d, x, w, cache, start_key, tol=tol, max_iter=max_iter)
    hess = _solvers.weighted_gram(x, w * p * (1 - p))
    inv = np.linalg.inv(hess)
    if cache is not None:
        cache[key] = (p, inv)
    return p, inv


def _logit_fast(d: np.ndarray, x: np.ndarray, w: np.ndarray, cache: dict | None,
                start_key: bytes) -> np.ndarray | None:
    """The numpy logit fit (:func:`evaluate.did._solvers.logit_newton`), warm-started from
    the last fit with the same units and treatment; ``None`` if it did not converge cleanly."""
    start = cache.get(start_key) if cache is not None else None
    res = _solvers.logit_newton(d, x, w, start=None if start is None else start[0])
    if res is None:
        return None
    params, p = res
    if cache is not None:
        cache[start_key] = (params.copy(), params.copy())
    return p


def _logit_statsmodels(d: np.ndarray, x: np.ndarray, w: np.ndarray, cache: dict | None,
                       start_key: bytes, *, tol: float, max_iter: int) -> np.ndarray:
    """The statsmodels logit fit (the reference): ``Logit`` by Newton with equal weights,
    else (or if Newton fails) the binomial ``GLM`` by IRLS."""
    p = None
    with warnings.catch_warnings():
        # near-separation is handled by the trimming of the propensity score, as in DRDID
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        if np.all(w == w[0]):
            # warm start from the last fit with the same units and treatment (a neighbouring
            # cell of the same cohort): fewer Newton steps, the same maximum
            start = cache.get(start_key) if cache is not None else None
            if start is not None and start[0].shape != (x.shape[1],):
                start = None
            res = sm.Logit(d, x, hasconst=True).fit(method="newton", tol=1e-10, maxiter=max_iter, disp=0,
                                                    start_params=None if start is None else start[0])
            if res.mle_retvals.get("converged", False) and np.all(np.isfinite(res.params)):
                params = np.asarray(res.params, dtype=float)
                p = expit(x @ params)
                if cache is not None:
                    cache[start_key] = (params.copy(), params.copy())
        if p is None:
            model = sm.GLM(d, x, family=sm.families.Binomial(), var_weights=w, hasconst=True)
            res = model.fit(method="irls", tol=tol, maxiter=max_iter)  # IRLS, as R's glm
            p = np.asarray(res.fittedvalues, dtype=float)
    return p


def _wls_statsmodels(y: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least squares coefficients (statsmodels WLS, as R's ``lm`` with weights)."""
    return np.asarray(sm.WLS(y, x, weights=w, hasconst=True).fit(method="qr").params, dtype=float)


def _wls_masked(y: np.ndarray, x: np.ndarray, wm: np.ndarray, sel: np.ndarray,
                gram: np.ndarray) -> np.ndarray:
    """Weighted least squares on the rows ``sel``, given ``wm`` (the weights, zero off ``sel``)
    and ``gram = X' diag(wm) X``: the fast solver uses the normal equations over all rows
    (rows off ``sel`` weigh nothing), the reference fits the selected rows with statsmodels."""
    if _SOLVER.get() == "fast":
        coef = _solvers.wls_normal(gram, x.T @ (wm * y))
        if coef is not None:
            return coef
    return _wls_statsmodels(y[sel], x[sel], wm[sel])


def _ols_rep(dy: np.ndarray, d: np.ndarray, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, _Rep]:
    """Outcome regression on the comparison units: fitted values and asymptotic linear representation."""
    n = len(dy)
    wc = w * (1 - d)
    gram = _solvers.weighted_gram(x, wc)
    coef = _wls_masked(dy, x, wc, d == 0, gram)
    fit = x @ coef
    xpx_inv = np.linalg.inv(gram / n)
    return fit, _Rep(wc * (dy - fit), x, xpx_inv)


def _ols_cell(y: np.ndarray, x: np.ndarray, w: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, _Rep]:
    """Outcome regression on the observations with ``mask == 1`` (repeated cross-sections).

    Returns the fitted values for every observation and the asymptotic linear
    representation of the coefficients (DRDID's ``asy.lin.rep.ols``).
    """
    n = len(y)
    wm = w * mask
    gram = _solvers.weighted_gram(x, wm)
    coef = _wls_masked(y, x, wm, mask > 0, gram)
    fit = x @ coef
    xpx_inv = np.linalg.inv(gram / n)
    return fit, _Rep(wm * (y - fit), x, xpx_inv)


def _ps(d: np.ndarray, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, _Rep]:
    """Propensity score, trimming indicator and its asymptotic linear representation."""
    n = len(d)
    p, vcov = _logit(d, x, w)
    p = np.minimum(p, 1 - 1e-6)
    trim = np.where(d == 1, p < 1.01, p < _TRIM_LEVEL).astype(float)
    return p, trim, _Rep(w * (d - p), x, vcov * n)


def dr_panel(y1: np.ndarray, y0: np.ndarray, d: np.ndarray, covariates: np.ndarray | None = None,
             i_weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Locally efficient doubly robust DiD for panel data (``DRDID::drdid_panel``).

    Parameters
    ----------
    y1, y0
        Outcomes in the later and earlier period.
    d
        1 for the treated group, 0 for the comparison group.
    covariates
        Covariates (without intercept), or ``None``.
    i_weights
        Sampling weights (normalised to mean one), or ``None``.

    Returns
    -------
    att, influence
    """
    d, n, dy, x, w = _panel_inputs(y1, y0, d, covariates, i_weights)
    p, trim, rep_ps = _ps(d, x, w)
    fit, rep_ols = _ols_rep(dy, d, x, w)
    resid = dy - fit
    w_t = trim * w * d
    w_c = trim * w * p * (1 - d) / (1 - p)
    mw_t, mw_c = w_t.mean(), w_c.mean()
    eta_t = (w_t * resid).mean() / mw_t
    eta_c = (w_c * resid).mean() / mw_c
    # R's inf.treat = (inf.treat.1 - inf.treat.2) / mean(w.treat) and inf.cont = (inf.cont.1 +
    # inf.cont.2 - inf.cont.3) / mean(w.cont), gathered: the two outcome-regression terms
    # share one product with its representation, the propensity-score term is inf.cont.2
    res_t = resid - eta_t
    res_t *= w_t / mw_t
    res_c = resid - eta_c
    res_c *= w_c
    m_ols = _mean_x(w_t, x) / mw_t - _mean_x(w_c, x) / mw_c
    m_ps = _mean_x(res_c, x) / mw_c
    inf = res_t
    inf -= res_c / mw_c
    inf -= rep_ols @ m_ols
    inf -= rep_ps @ m_ps
    return float(eta_t - eta_c), inf


# Inverse probability tilting (DRDID's pscore.cal) ------------------------------------------

_PS_FLAG = {0: "ipt", 1: "ipt_extrapolated", 2: "logit"}


def _newton(loss, gamma: np.ndarray, *, tol: float = 1e-12, max_iter: int = 200) -> np.ndarray | None:
    """Minimise a smooth convex ``loss(gamma) -> (value, gradient, hessian)`` by damped Newton.

    Backtracking (Armijo) line search on the Newton direction. Returns ``None`` when it does
    not converge (no finite minimiser, singular Hessian, non-finite values).
    """
    val, grad, hess = loss(gamma)
    if not np.isfinite(val):
        return None
    for _ in range(max_iter):
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return None
        if not np.all(np.isfinite(step)):
            return None
        decrement = float(grad @ step)
        if decrement <= tol**2 or np.max(np.abs(grad)) <= tol:
            return gamma
        t = 1.0
        while True:
            cand = gamma - t * step
            cval, cgrad, chess = loss(cand)
            if np.isfinite(cval) and cval <= val - 1e-4 * t * decrement:
                break
            if (t == 1.0 and decrement <= tol and np.isfinite(cval) and cgrad is not None
                    and np.max(np.abs(cgrad)) < np.max(np.abs(grad))):
                # (numerically) at the minimum, where the decrease of a Newton step is below
                # the rounding of the value: the full step, which shrinks the gradient
                break
            t *= 0.5
            if t < 1e-12:
                # no further decrease possible: accept if already (numerically) stationary
                return gamma if decrement <= tol else None
        if (cval >= val and decrement <= tol
                and np.max(np.abs(cgrad)) >= np.max(np.abs(grad))):
            # the step is accepted only because the value no longer changes in floating
            # point, and the gradient does not shrink: no progress is left (as above); without
            # this the iteration would repeat the same step until max_iter and report failure
            return gamma
        gamma, val, grad, hess = cand, cval, cgrad, chess
    return None


def _ipt_loss(d: np.ndarray, x: np.ndarray, w: np.ndarray):
    """DRDID's ``loss.ps.cal``: mean(w * (-d * x'g + (1 - d) * exp(x'g))), gradient, Hessian."""
    n = len(d)
    wt = w * d
    wc = w * (1 - d)
    target = (wt[:, None] * x).mean(axis=0)

    def loss(g: np.ndarray):
        v = x @ g
        with np.errstate(over="ignore"):
            e = np.exp(v)
        if not np.all(np.isfinite(e)):
            return np.inf, None, None
        val = float(np.mean(-wt * v + wc * e))
        grad = ((wc * e)[:, None] * x).mean(axis=0) - target
        hess = (x * (wc * e)[:, None]).T @ x / n
        return val, grad, hess

    return loss


def _ipt_loss_extrapolated(d: np.ndarray, x: np.ndarray, w: np.ndarray):
    """Graham, Pinto and Egel's IPT criterion (DRDID's ``loss.ps.IPT``), minus sign included.

    ``phi(v) = -v - exp(v)`` below ``v* = log(n - 1)``, its quadratic extrapolation above.
    DRDID's version leaves the ``+ v`` term unweighted; here it carries the sampling weight,
    so that its first-order condition is the same calibration condition (identical when the
    weights are all one).
    """
    n = len(d)
    cn = -(n - 1)
    bn = -n + (n - 1) * np.log(n - 1)
    an = -(n - 1) * (1 - np.log(n - 1) + 0.5 * np.log(n - 1) ** 2)
    vstar = np.log(n - 1)
    wc = w * (1 - d)

    def loss(g: np.ndarray):
        v = x @ g
        low = v < vstar
        ev = np.exp(np.minimum(v, vstar))
        phi = np.where(low, -v - ev, an + bn * v + 0.5 * cn * v**2)
        phi1 = np.where(low, -1 - ev, bn + cn * v)
        phi2 = np.where(low, -ev, cn)
        val = -float(np.sum(wc * phi + w * v))
        grad = -(x.T @ (wc * phi1 + w))
        hess = -(x * (wc * phi2)[:, None]).T @ x
        return val, grad, hess

    return loss


def pscore_ipt(d: np.ndarray, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, int]:
    """Propensity score by inverse probability tilting (DRDID's ``pscore.cal``).

    ``gamma`` minimises ``mean(w * (-d * x'gamma + (1 - d) * exp(x'gamma)))``, whose
    first-order condition is the calibration condition ``sum_{d=0} w exp(x'gamma) x =
    sum_{d=1} w x``: the odds-weighted comparison units reproduce the treated units' weighted
    covariate totals exactly. Fitted by Newton's method with a line search from the logit
    maximum-likelihood fit (DRDID uses ``trust``; the minimiser is the same). As DRDID, if
    that fails it tries Graham, Pinto and Egel's extrapolated criterion and, failing that,
    returns the logit fit.

    Returns
    -------
    pscore, flag
        ``plogis(x'gamma)`` and DRDID's ``ps.flag``: 0 calibrated, 1 extrapolated IPT,
        2 logit maximum likelihood (IPT failed).
    """
    cache = _FITS.get()
    key = _fit_key(d, x, w) + b"ipt" if cache is not None else b""
    if cache is not None and key in cache:
        p, flag = cache[key]
        return p.copy(), int(flag[0])
    p_logit, _ = _logit(d, x, w)
    x = np.ascontiguousarray(x)  # the row-major layout of the tested (R parity) IPT fits
    pc = np.clip(p_logit, 1e-10, 1 - 1e-10)
    init = np.linalg.lstsq(x, np.log(pc / (1 - pc)), rcond=None)[0]
    flag = 0
    gamma = _newton(_ipt_loss(d, x, w), init)
    if gamma is None:
        flag = 1
        gamma = _newton(_ipt_loss_extrapolated(d, x, w), init, tol=1e-9)
    if gamma is None:
        flag = 2
        p = p_logit.copy()
    else:
        p = expit(x @ gamma)
    if cache is not None:
        cache[key] = (p.copy(), np.array([flag], dtype=float))
    return p, flag


def dr_imp_panel(y1: np.ndarray, y0: np.ndarray, d: np.ndarray, covariates: np.ndarray | None = None,
                 i_weights: np.ndarray | None = None, *,
                 info: dict | None = None) -> tuple[float, np.ndarray]:
    """Improved locally efficient doubly robust DiD for panel data (``DRDID::drdid_imp_panel``).

    Sant'Anna and Zhao (2020), Section 3.1: the propensity score is fitted by inverse
    probability tilting (:func:`pscore_ipt`), the outcome regression of ``y1 - y0`` on the
    covariates among comparison units by weighted least squares with weights
    ``w * p / (1 - p)``. The first-order conditions of these two fits make the estimation
    effects of both nuisance fits vanish, so the influence function has no correction terms.
    Comparison units with a score of 0.995 or more get weight zero, as DRDID.

    Parameters and returns as :func:`dr_panel`; ``info``, if given, receives ``ps_flag``
    (DRDID's: 0 calibrated, 1 extrapolated IPT, 2 logit fallback) and ``ps_method``.
    """
    d, n, dy, x, w = _panel_inputs(y1, y0, d, covariates, i_weights)
    p, flag = pscore_ipt(d, x, w)
    if info is not None:
        info["ps_flag"] = flag
        info["ps_method"] = _PS_FLAG[flag]
    p = np.minimum(p, 1 - 1e-6)
    trim = np.where(d == 1, p < 1.01, p < _TRIM_LEVEL).astype(float)
    odds = p / (1 - p)
    ctrl = d == 0
    wo = w * odds * (1 - d)
    coef = _wls_masked(dy, x, wo, ctrl, _solvers.weighted_gram(x, wo))
    fit = x @ coef
    w_t = trim * w * d
    w_c = trim * w * odds * (1 - d)
    att_t = w_t * (dy - fit)
    att_c = w_c * (dy - fit)
    eta_t = att_t.mean() / w_t.mean()
    eta_c = att_c.mean() / w_c.mean()
    inf = (att_t - w_t * eta_t) / w_t.mean() - (att_c - w_c * eta_c) / w_c.mean()
    return float(eta_t - eta_c), inf


def ipw_panel(y1: np.ndarray, y0: np.ndarray, d: np.ndarray, covariates: np.ndarray | None = None,
              i_weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Normalised (Hajek) inverse probability weighted DiD for panel data (``DRDID::std_ipw_did_panel``).

    Parameters and returns as :func:`dr_panel`.
    """
    d, n, dy, x, w = _panel_inputs(y1, y0, d, covariates, i_weights)
    p, trim, rep_ps = _ps(d, x, w)
    w_t = trim * w * d
    w_c = trim * w * p * (1 - d) / (1 - p)
    mw_t, mw_c = w_t.mean(), w_c.mean()
    eta_t = (w_t * dy).mean() / mw_t
    eta_c = (w_c * dy).mean() / mw_c
    # (att.treat - w.treat * eta.treat) / mean(w.treat) - (inf.cont.1 + inf.cont.2) / mean(w.cont)
    res_t = dy - eta_t
    res_t *= w_t / mw_t
    res_c = dy - eta_c
    res_c *= w_c
    inf = res_t
    inf -= res_c / mw_c
    inf -= rep_ps @ (_mean_x(res_c, x) / mw_c)
    return float(eta_t - eta_c), inf


def reg_panel(y1: np.ndarray, y0: np.ndarray, d: np.ndarray, covariates: np.ndarray | None = None,
              i_weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Outcome-regression DiD for panel data (``DRDID::reg_did_panel``).

    Parameters and returns as :func:`dr_panel`.
    """
    d, n, dy, x, w = _panel_inputs(y1, y0, d, covariates, i_weights)
    fit, rep_ols = _ols_rep(dy, d, x, w)
    w_t = w * d
    mw_t = w_t.mean()
    eta_t = (w_t * dy).mean() / mw_t
    eta_c = (w_t * fit).mean() / mw_t
    # inf.treat - inf.cont = (w.treat * (dy - fit - eta.treat + eta.cont) - inf.cont.2) / mean(w.treat)
    inf = dy - fit
    inf -= eta_t - eta_c
    inf *= w_t
    inf -= rep_ols @ _mean_x(w_t, x)
    inf /= mw_t
    return float(eta_t - eta_c), inf


def reg_rc(y: np.ndarray, post: np.ndarray, d: np.ndarray, covariates: np.ndarray | None = None,
           i_weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Outcome-regression DiD for repeated cross-sections (``DRDID::reg_did_rc``).

    Parameters
    ----------
    y
        Outcome of each observation.
    post
        1 if the observation is in the later period.
    d
        1 for the treated group.
    covariates, i_weights
        As :func:`dr_panel`.

    Returns
    -------
    att, influence
        One influence value per observation.
    """
    y, post, d, x, w = _rc_inputs(y, post, d, covariates, i_weights)
    fit_pre, rep_pre = _ols_cell(y, x, w, (1 - d) * (1 - post))
    fit_post, rep_post = _ols_cell(y, x, w, (1 - d) * post)
    w_t_pre = w * d * (1 - post)
    w_t_post = w * d * post
    w_d = w * d
    reg_t_pre = w_t_pre * y
    reg_t_post = w_t_post * y
    reg_c = w_d * (fit_post - fit_pre)
    eta_t_pre = reg_t_pre.mean() / w_t_pre.mean()
    eta_t_post = reg_t_post.mean() / w_t_post.mean()
    eta_c = reg_c.mean() / w_d.mean()
    att = eta_t_post - eta_t_pre - eta_c
    inf_t_pre = (reg_t_pre - w_t_pre * eta_t_pre) / w_t_pre.mean()
    inf_t_post = (reg_t_post - w_t_post * eta_t_post) / w_t_post.mean()
    inf_t = inf_t_post - inf_t_pre
    inf_c1 = reg_c - w_d * eta_c
    m1 = _mean_x(w_d, x)
    inf_c2 = rep_post @ m1 - rep_pre @ m1
    inf_c = (inf_c1 + inf_c2) / w_d.mean()
    return float(att), inf_t - inf_c


def _rc_inputs(y: np.ndarray, post: np.ndarray, d: np.ndarray, covariates: np.ndarray | None,
               i_weights: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """Outcome, period and group as floats, the design (with intercept) and normalised weights."""
    d = np.asarray(d, dtype=float)
    post = np.asarray(post, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(d)
    return y, post, d, _design(covariates, n), _weights(i_weights, n)


def _hajek(weight: np.ndarray, values: np.ndarray) -> tuple[float, np.ndarray]:
    """Normalised weighted mean and its leading influence term (``eta - w * att / mean(w)``)."""
    mw = weight.mean()
    eta = weight * values / mw
    att = eta.mean()
    return float(att), eta - weight * att / mw


def ipw_rc(y: np.ndarray, post: np.ndarray, d: np.ndarray, covariates: np.ndarray | None = None,
           i_weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Normalised (Hajek) IPW DiD for repeated cross-sections (``DRDID::std_ipw_did_rc``).

    Parameters and returns as :func:`reg_rc`. The propensity score is the logit of ``d`` on
    the covariates over all observations (both periods); comparison observations with a
    score of 0.995 or more are trimmed, as DRDID.
    """
    y, post, d, x, w = _rc_inputs(y, post, d, covariates, i_weights)
    p, trim, rep_ps = _ps(d, x, w)
    odds = p / (1 - p)
    w_t_pre = trim * w * d * (1 - post)
    w_t_post = trim * w * d * post
    w_c_pre = trim * w * odds * (1 - d) * (1 - post)
    w_c_post = trim * w * odds * (1 - d) * post
    att_t_pre, inf_t_pre = _hajek(w_t_pre, y)
    att_t_post, inf_t_post = _hajek(w_t_post, y)
    att_c_pre, inf_c_pre = _hajek(w_c_pre, y)
    att_c_post, inf_c_post = _hajek(w_c_post, y)
    att = (att_t_post - att_t_pre) - (att_c_post - att_c_pre)
    m2_pre = _mean_x(w_c_pre * (y - att_c_pre), x) / w_c_pre.mean()
    m2_post = _mean_x(w_c_post * (y - att_c_post), x) / w_c_post.mean()
    inf_t = inf_t_post - inf_t_pre
    inf_c = inf_c_post - inf_c_pre + rep_ps @ (m2_post - m2_pre)
    return float(att), inf_t - inf_c


def dr_rc(y: np.ndarray, post: np.ndarray, d: np.ndarray, covariates: np.ndarray | None = None,
          i_weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Locally efficient doubly robust DiD for repeated cross-sections (``DRDID::drdid_rc``).

    Parameters and returns as :func:`reg_rc`. Outcome regressions (weighted least squares)
    for comparison-pre, comparison-post, treated-pre and treated-post; logit propensity score
    over all observations, comparison observations with a score of 0.995 or more trimmed.

    The influence function is R's term for term, including how R adds the estimation effect
    of the pre-period comparison regression (``inf.treat.or.post + inf.treat.or.pre`` and
    ``inf.cont.or.post + inf.cont.or.pre``); the Python ``drdid`` package subtracts these
    pre-period terms instead. With no covariates the two agree.
    """
    y, post, d, x, w = _rc_inputs(y, post, d, covariates, i_weights)
    p, trim, rep_ps = _ps(d, x, w)
    fit_c_pre, rep_c_pre = _ols_cell(y, x, w, (1 - d) * (1 - post))
    fit_c_post, rep_c_post = _ols_cell(y, x, w, (1 - d) * post)
    fit_t_pre, rep_t_pre = _ols_cell(y, x, w, d * (1 - post))
    fit_t_post, rep_t_post = _ols_cell(y, x, w, d * post)
    fit_c = post * fit_c_post + (1 - post) * fit_c_pre
    odds = p / (1 - p)
    w_t_pre = trim * w * d * (1 - post)
    w_t_post = trim * w * d * post
    w_c_pre = trim * w * odds * (1 - d) * (1 - post)
    w_c_post = trim * w * odds * (1 - d) * post
    w_d = trim * w * d
    resid = y - fit_c
    gap_post = fit_t_post - fit_c_post
    gap_pre = fit_t_pre - fit_c_pre
    att_t_pre, inf_t_pre = _hajek(w_t_pre, resid)
    att_t_post, inf_t_post = _hajek(w_t_post, resid)
    att_c_pre, inf_c_pre = _hajek(w_c_pre, resid)
    att_c_post, inf_c_post = _hajek(w_c_post, resid)
    att_d_post, inf_e1 = _hajek(w_d, gap_post)
    att_dt1_post, inf_e2 = _hajek(w_t_post, gap_post)
    att_d_pre, inf_e3 = _hajek(w_d, gap_pre)
    att_dt0_pre, inf_e4 = _hajek(w_t_pre, gap_pre)
    att = ((att_t_post - att_t_pre) - (att_c_post - att_c_pre)
           + (att_d_post - att_dt1_post) - (att_d_pre - att_dt0_pre))

    # treated component: estimation effect of the comparison regressions
    m1_post = -_mean_x(w_t_post * post, x) / w_t_post.mean()
    m1_pre = -_mean_x(w_t_pre * (1 - post), x) / w_t_pre.mean()
    inf_t_or = rep_c_post @ m1_post + rep_c_pre @ m1_pre  # as R (see docstring)
    inf_t = inf_t_post - inf_t_pre + inf_t_or
    # comparison component: propensity score and comparison regressions
    m2_pre = _mean_x(w_c_pre * (resid - att_c_pre), x) / w_c_pre.mean()
    m2_post = _mean_x(w_c_post * (resid - att_c_post), x) / w_c_post.mean()
    inf_c_ps = rep_ps @ (m2_post - m2_pre)
    m3_post = -_mean_x(w_c_post * post, x) / w_c_post.mean()
    m3_pre = -_mean_x(w_c_pre * (1 - post), x) / w_c_pre.mean()
    inf_c_or = rep_c_post @ m3_post + rep_c_pre @ m3_pre  # as R (see docstring)
    inf_c = inf_c_post - inf_c_pre + inf_c_ps + inf_c_or
    # local-efficiency adjustment and the estimation effect of all four regressions
    inf_eff = (inf_e1 - inf_e2) - (inf_e3 - inf_e4)
    mom_post = _mean_x(w_d / w_d.mean() - w_t_post / w_t_post.mean(), x)
    mom_pre = _mean_x(w_d / w_d.mean() - w_t_pre / w_t_pre.mean(), x)
    inf_or = (rep_t_post @ mom_post - rep_c_post @ mom_post) - (rep_t_pre @ mom_pre - rep_c_pre @ mom_pre)
    return float(att), inf_t - inf_c + inf_eff + inf_or
