"""The estimators on one units x periods matrix (controls first, then treated).

``Y`` is ``N x T`` with the ``N0`` control (donor) rows first and the ``T0`` pre-treatment
columns first, as in R ``synthdid``. Nothing here knows about data frames; :mod:`.model`
builds the matrices and :mod:`.placebo` calls these functions once per placebo.

- :func:`sdid_fit`: synthetic difference in differences (Arkhangelsky et al. 2021,
  ``synthdid::synthdid_estimate``): unit weights ``omega`` with an intercept and ridge
  ``zeta_omega = (N1 T1)^(1/4) sd(first differences of control pre-period outcomes)``, time
  weights ``lambda`` with an intercept and ridge ``1e-6 sd(...)``, both by Frank-Wolfe
  (100 steps, sparsify, then to convergence), then
  ``tau = (mean treated - omega'controls) post, weighted by lambda pre``.
- :func:`sc_fit`: synthetic control (Abadie, Diamond and Hainmueller 2010) on the
  pre-period outcomes with the identity ``V``: ``omega = argmin ||Y1_pre - Y0_pre' omega||``
  on the simplex (exact QP, no intercept), ``tau`` = mean post-period gap.
- :func:`did_fit`: the plain difference in differences of means (uniform weights).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluate.synthcontrol.weights import fw_weights, simplex_least_squares, sparsify

__all__ = ["Fit", "did_fit", "noise_level", "sc_fit", "sdid_fit"]


@dataclass(frozen=True)
class Fit:
    """One fit on a matrix: the estimate, the weights, and the treated and synthetic paths."""

    tau: float
    omega: np.ndarray
    lam: np.ndarray
    treated_path: np.ndarray
    synthetic_path: np.ndarray
    zeta_omega: float = 0.0
    zeta_lambda: float = 0.0

    @property
    def gap(self) -> np.ndarray:
        """Treated minus synthetic, every period."""
        return self.treated_path - self.synthetic_path


def noise_level(Y: np.ndarray, N0: int, T0: int) -> float:
    """Standard deviation (n - 1) of the first differences of the control pre-period outcomes."""
    d = np.diff(Y[:N0, :T0], axis=1)
    return float(np.std(d, ddof=1)) if d.size > 1 else 0.0


def _collapsed(Y: np.ndarray, N0: int, T0: int) -> np.ndarray:
    """R ``collapsed.form``: controls x pre, post mean column; treated mean row."""
    top = np.column_stack([Y[:N0, :T0], Y[:N0, T0:].mean(axis=1)])
    bottom = np.append(Y[N0:, :T0].mean(axis=0), Y[N0:, T0:].mean())
    return np.vstack([top, bottom])


def sdid_fit(Y: np.ndarray, N0: int, T0: int, *, zeta_omega: float | None = None,
             zeta_lambda: float | None = None, omega0: np.ndarray | None = None,
             lambda0: np.ndarray | None = None, max_iter: int = 10_000,
             max_iter_pre_sparsify: int = 100, min_decrease: float | None = None) -> Fit:
    """Synthetic difference in differences as R ``synthdid_estimate`` (no covariates).

    ``zeta_omega``/``zeta_lambda``/``min_decrease`` default to R's data-driven values;
    ``omega0``/``lambda0`` are starting weights (warm starts for placebo refits).
    """
    N, T = Y.shape
    N1, T1 = N - N0, T - T0
    noise = noise_level(Y, N0, T0)
    if zeta_omega is None:
        zeta_omega = (N1 * T1) ** 0.25 * noise
    if zeta_lambda is None:
        zeta_lambda = 1e-6 * noise
    if min_decrease is None:
        min_decrease = 1e-5 * noise if noise > 0 else 1e-10
    Yc = _collapsed(Y, N0, T0)
    # time weights: rows are control units, columns pre periods, target the post mean
    A_l, b_l = Yc[:N0, :T0], Yc[:N0, T0]
    lam = fw_weights(A_l, b_l, zeta=zeta_lambda, intercept=True, x0=lambda0,
                     min_decrease=min_decrease, max_iter=max_iter_pre_sparsify)
    lam = fw_weights(A_l, b_l, zeta=zeta_lambda, intercept=True, x0=sparsify(lam),
                     min_decrease=min_decrease, max_iter=max_iter)
    # unit weights: rows are pre periods, columns control units, target the treated mean
    A_o, b_o = Yc[:N0, :T0].T, Yc[N0, :T0]
    om = fw_weights(A_o, b_o, zeta=zeta_omega, intercept=True, x0=omega0,
                    min_decrease=min_decrease, max_iter=max_iter_pre_sparsify)
    om = fw_weights(A_o, b_o, zeta=zeta_omega, intercept=True, x0=sparsify(om),
                    min_decrease=min_decrease, max_iter=max_iter)
    treated = Y[N0:].mean(axis=0)
    synth = om @ Y[:N0]
    gap = treated - synth
    tau = float(gap[T0:].mean() - lam @ gap[:T0])
    # the synthetic path shifted by the lambda-weighted pre-period difference (for plots)
    return Fit(tau, om, lam, treated, synth + float(lam @ gap[:T0]), zeta_omega, zeta_lambda)


def sc_fit(Y: np.ndarray, N0: int, T0: int, *, v: np.ndarray | None = None) -> Fit:
    """Synthetic control with weights on pre-period outcomes (identity ``V`` unless ``v``).

    ``v`` (length ``T0``, non-negative) weights the pre-period fit:
    ``min sum_t v_t (y1_t - Y0_t' omega)^2``.
    """
    treated = Y[N0:].mean(axis=0)
    A = Y[:N0, :T0].T
    b = treated[:T0]
    if v is not None:
        sv = np.sqrt(np.asarray(v, dtype=float))
        A, b = A * sv[:, None], b * sv
    om = simplex_least_squares(A, b)
    synth = om @ Y[:N0]
    gap = treated - synth
    lam = np.zeros(T0)
    return Fit(float(gap[T0:].mean()), om, lam, treated, synth)


def did_fit(Y: np.ndarray, N0: int, T0: int) -> Fit:
    """Difference in differences of means (uniform unit and time weights)."""
    om = np.full(N0, 1.0 / N0)
    lam = np.full(T0, 1.0 / T0)
    treated = Y[N0:].mean(axis=0)
    synth = om @ Y[:N0]
    gap = treated - synth
    return Fit(float(gap[T0:].mean() - lam @ gap[:T0]), om, lam, treated, synth + float(lam @ gap[:T0]))
