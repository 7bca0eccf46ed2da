"""Conformal prediction intervals around any skgru regressor.

:class:`ConformalRegressor` wraps a regressor (by default
:class:`~skgru.GRURegressor`, or a :class:`~sklearn.pipeline.Pipeline` ending in
one) and turns its point forecasts into intervals with a finite-sample coverage
guarantee under exchangeability:

* ``method="split"``: split conformal (Vovk et al. 2005; Lei et al. 2018). The
  training data is split into a proper training part and a calibration part;
  absolute residuals on the calibration part set the interval half-width.
* ``method="cv_plus"``: CV+ (Barber, Candes, Ramdas & Tibshirani 2021, "Predictive
  inference with the jackknife+"). One model per fold; each sample's
  out-of-fold residual is combined with the prediction of the model that did
  not see it. Uses every sample for both training and calibration.
* Conformalised quantile regression (CQR; Romano, Patterson & Candes 2019),
  chosen automatically when the estimator has a non-None ``quantiles``
  parameter: the estimator's lower/upper quantile band is widened (or narrowed)
  by the conformal quantile of ``max(lo - y, y - hi)``, with either method.

All methods share one conformity score, ``E = max(lo(x) - y, y - hi(x))``; for a
point regressor ``lo = hi = prediction`` and ``E`` is the absolute residual.

``X`` is never converted with ``np.asarray``: rows are selected with sklearn's
``_safe_indexing``, so 3D arrays, variable-length lists of sequences and
DataFrames all work as the wrapped estimator accepts them.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, _fit_context, clone
from sklearn.model_selection import KFold, check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _num_samples, check_array, check_consistent_length, check_is_fitted
from skgru._doc_links import DocLinkMixin

__all__ = ["ConformalRegressor"]

# CV+ compares every calibration sample with every test sample: process the test
# set in chunks so that the (n_calibration, chunk, n_outputs) work array stays
# under about 4e6 floats (32 MB).
_CVPLUS_CHUNK_FLOATS = 4_000_000
# (n + 1) * (1 - alpha) is an integer for round alphas (n=99, alpha=0.1 -> 90);
# floating point can land at 90.000000000001 and ceil would give 91.
_EPS = 1e-9


def _check_alpha(alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must be a float in (0, 1) (miscoverage; 0.1 gives 90% intervals); got {alpha!r}.")
    return float(alpha)


def _upper_rank(n, alpha):
    """Rank k (1-based) of the finite-sample conformal quantile, ceil((n+1)(1-alpha))."""
    k = math.ceil((n + 1) * (1.0 - alpha) - _EPS)
    if k > n:
        need = math.ceil((1.0 - alpha) / alpha - _EPS)
        raise ValueError(
            f"too few calibration samples for alpha={alpha:g}: the conformal quantile "
            f"ceil((n+1)(1-alpha))/n = {k}/{n} exceeds 1; need at least {need} calibration "
            f"samples (have {n}). Use more data, a larger calibration_fraction, or a larger alpha."
        )
    return k


def _indexable(a):
    """``a`` itself when rows can be selected from it with ``_safe_indexing``."""
    if sp.issparse(a):
        return a.tocsr()  # COO/DIA matrices are not subscriptable
    if not hasattr(a, "__getitem__") and hasattr(a, "__array__"):
        return np.asarray(a)  # array-likes that only convert cannot be row-indexed
    return a


def _final_step(estimator):
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def _quantile_levels(estimator):
    """Sorted quantile levels of a quantile regressor, or None for a point regressor."""
    final = _final_step(estimator)
    if not hasattr(final, "get_params"):
        return None
    quantiles = final.get_params(deep=False).get("quantiles")
    if quantiles is None:
        return None
    return np.sort(np.asarray(quantiles, dtype=float).ravel())


def _predict_quantiles(estimator, X):
    if hasattr(estimator, "predict_quantiles"):
        return estimator.predict_quantiles(X)
    if isinstance(estimator, Pipeline) and hasattr(estimator.steps[-1][1], "predict_quantiles"):
        # Pipeline does not forward predict_quantiles: transform through the steps.
        Xt = estimator[:-1].transform(X) if len(estimator.steps) > 1 else X
        return estimator.steps[-1][1].predict_quantiles(Xt)
    raise TypeError(
        f"{type(_final_step(estimator)).__name__} has a 'quantiles' parameter but no "
        "predict_quantiles method; conformalised quantile regression needs both."
    )


class ConformalRegressor(DocLinkMixin, MetaEstimatorMixin, RegressorMixin, BaseEstimator):
    """Conformal prediction intervals for a sequence regressor.

    Wraps a regressor and calibrates intervals ``[lower, upper]`` that contain
    the true target with probability at least ``1 - alpha`` when the calibration
    and test samples are exchangeable (split conformal; CV+ guarantees
    ``1 - 2 alpha`` in theory and is usually close to ``1 - alpha``). With a
    quantile regressor (an estimator whose ``quantiles`` parameter is set) the
    intervals are conformalised quantile regression (CQR) bands, which adapt
    their width to the input.

    Parameters
    ----------
    estimator : regressor or Pipeline ending in one, default=None
        Estimator to wrap; cloned in ``fit``. None uses ``GRURegressor()``.
        It must implement ``fit`` and ``predict`` (and ``predict_quantiles`` when
        it has a non-None ``quantiles`` parameter).
    method : {"split", "cv_plus"}, default="split"
        ``"split"``: fit on ``1 - calibration_fraction`` of the data and calibrate
        on the rest (one fit). ``"cv_plus"``: fit one model per ``cv`` fold and
        calibrate on the out-of-fold residuals (``cv`` fits, no data held back).
    alpha : float in (0, 1), default=0.1
        Default miscoverage of :meth:`predict_interval` (0.1 gives 90% intervals).
        ``fit`` checks that the calibration set is large enough for it.
    calibration_fraction : float in (0, 1), default=0.2
        Share of the samples held out for calibration with ``method="split"``.
    cv : int, cross-validation splitter or iterable, default=5
        Folds for ``method="cv_plus"``. An int gives ``KFold(cv, shuffle=shuffle,
        random_state=random_state)``; a splitter or an iterable of
        ``(train, test)`` index pairs must hold every sample out exactly once.
    shuffle : bool, default=True
        Shuffle before splitting. With ``False`` the calibration set is the
        *last* ``calibration_fraction`` of the samples in the given order (for
        forecasting: calibrate on the most recent windows, train on the past),
        and integer ``cv`` folds are contiguous blocks.
    random_state : int, RandomState or None, default=None
        Seeds the shuffling of the calibration split / folds (not the wrapped
        estimator: set its own ``random_state`` for that).

    Attributes
    ----------
    estimator_ : estimator
        The fitted estimator (``method="split"``); for ``"cv_plus"``, the first
        fold model.
    estimators_ : list of estimators
        The fitted models: one for ``"split"``, one per fold for ``"cv_plus"``.
    conformity_score_ : {"absolute_residual", "quantile_band"}
        ``"quantile_band"`` when the intervals are CQR bands.
    quantile_levels_ : ndarray or None
        Sorted quantile levels of a quantile estimator (CQR), else None.
    conformity_scores_ : ndarray of shape (n_calibration,) or (n_calibration, n_outputs)
        Scores ``max(lo - y, y - hi)`` of the calibration samples for ``alpha``
        (absolute residuals for a point regressor).
    n_calibration_ : int
        Number of calibration samples (all samples for ``"cv_plus"``).
    calibration_indices_ : ndarray of int
        Row indices of ``X`` used for calibration (``"split"``).
    fold_of_sample_ : ndarray of int
        For ``"cv_plus"``: the fold whose model did not see each sample.
    n_outputs_ : int
        Number of targets.
    n_features_in_ : int
        Of the wrapped estimator.

    See Also
    --------
    skgru.GRURegressor : The default estimator (``quantiles`` for CQR).

    References
    ----------
    .. [1] J. Lei, M. G'Sell, A. Rinaldo, R. J. Tibshirani and L. Wasserman,
       "Distribution-free predictive inference for regression", JASA 2018.
    .. [2] R. F. Barber, E. J. Candes, A. Ramdas and R. J. Tibshirani,
       "Predictive inference with the jackknife+", Annals of Statistics 2021.
    .. [3] Y. Romano, E. Patterson and E. J. Candes, "Conformalized quantile
       regression", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skgru.conformal import ConformalRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = X.sum(axis=1) + rng.normal(size=200)
    >>> cr = ConformalRegressor(Ridge(), alpha=0.1, random_state=0).fit(X, y)
    >>> cr.predict_interval(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "method": [StrOptions({"split", "cv_plus"})],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "calibration_fraction": [Interval(Real, 0, 1, closed="neither")],
        "cv": ["cv_object"],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        method="split",
        alpha=0.1,
        calibration_fraction=0.2,
        cv=5,
        shuffle=True,
        random_state=None,
    ):
        self.estimator = estimator
        self.method = method
        self.alpha = alpha
        self.calibration_fraction = calibration_fraction
        self.cv = cv
        self.shuffle = shuffle
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def _base_estimator(self):
        if self.estimator is None:
            from skgru.estimators import GRURegressor  # lazy: keeps this module light

            return GRURegressor()
        return self.estimator

    @_fit_context(prefer_skip_nested_validation=False)  # the wrapped estimator validates itself
    def fit(self, X, y):
        """Fit the estimator and calibrate the intervals.

        Parameters
        ----------
        X : array-like, list of arrays or DataFrame
            Training sequences in any layout the wrapped estimator accepts.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        Returns
        -------
        self : ConformalRegressor
            The fitted wrapper.
        """
        alpha = _check_alpha(self.alpha)
        if y is None:
            raise ValueError("ConformalRegressor requires y to be passed, but the target y is None.")
        X, y = _indexable(X), _indexable(y)
        y_arr = check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
        if y_arr.ndim > 2:
            raise ValueError(f"y must be 1D or 2D (n_samples[, n_outputs]); got shape {y_arr.shape}.")
        check_consistent_length(X, y_arr)
        n = _num_samples(X)
        self._y_ndim = y_arr.ndim
        self.n_outputs_ = 1 if y_arr.ndim == 1 else y_arr.shape[1]
        base = self._base_estimator()
        self.quantile_levels_ = _quantile_levels(base)
        self.conformity_score_ = "absolute_residual" if self.quantile_levels_ is None else "quantile_band"
        if self.quantile_levels_ is not None:
            self._check_levels(self.quantile_levels_)
        rng = check_random_state(self.random_state)

        if self.method == "split":
            n_cal = int(math.ceil(self.calibration_fraction * n))
            if n_cal < 1 or n - n_cal < 1:
                raise ValueError(
                    f"calibration_fraction={self.calibration_fraction} of {n} samples leaves "
                    f"{n - n_cal} for training and {n_cal} for calibration; both need at least one."
                )
            order = rng.permutation(n) if self.shuffle else np.arange(n)
            train, cal = np.sort(order[: n - n_cal]), np.sort(order[n - n_cal :])
            _upper_rank(n_cal, alpha)  # fail before the (slow) fit
            est = clone(base).fit(_safe_indexing(X, train), _safe_indexing(y, train))
            self.estimators_ = [est]
            self.calibration_indices_ = cal
            self._calib_y = self._as_2d(y_arr[cal])
            self._calib_bands = self._bands(est, _safe_indexing(X, cal))
            self.fold_of_sample_ = None
        else:
            folds = self._folds(X, y_arr, n, rng)
            _upper_rank(n, alpha)
            fold_of = np.full(n, -1, dtype=int)
            self.estimators_, bands = [], None
            for k, (tr, te) in enumerate(folds):
                if np.any(fold_of[te] >= 0):
                    raise ValueError(
                        "cv_plus needs folds that hold every sample out exactly once (KFold-like); "
                        "some sample is in more than one test fold. For time-ordered data use "
                        "method='split' with shuffle=False."
                    )
                fold_of[te] = k
                est = clone(base).fit(_safe_indexing(X, tr), _safe_indexing(y, tr))
                self.estimators_.append(est)
                b = self._bands(est, _safe_indexing(X, te))
                if bands is None:
                    bands = np.empty((n,) + b.shape[1:], dtype=float)
                bands[te] = b
            if np.any(fold_of < 0):
                raise ValueError(
                    f"cv_plus needs folds that hold every sample out exactly once (KFold-like); "
                    f"{int(np.sum(fold_of < 0))} samples are in no test fold (e.g. TimeSeriesSplit). "
                    "For time-ordered data use method='split' with shuffle=False."
                )
            self.fold_of_sample_ = fold_of
            self.calibration_indices_ = np.arange(n)
            self._calib_y = self._as_2d(y_arr)
            self._calib_bands = bands
        self.estimator_ = self.estimators_[0]
        self.n_calibration_ = len(self._calib_y)
        scores = self._scores(alpha)
        self.conformity_scores_ = scores[:, 0] if self._y_ndim == 1 else scores
        return self

    def _folds(self, X, y, n, rng):
        if isinstance(self.cv, Integral) or self.cv is None:
            n_splits = 5 if self.cv is None else int(self.cv)
            if n_splits > n:
                raise ValueError(f"cv={n_splits} folds need at least {n_splits} samples; got {n}.")
            seed = rng if self.shuffle else None
            splitter = KFold(n_splits=n_splits, shuffle=self.shuffle, random_state=seed)
        else:
            splitter = check_cv(self.cv)
        return [(np.asarray(tr), np.asarray(te)) for tr, te in splitter.split(np.zeros((n, 1)), y)]

    @staticmethod
    def _check_levels(levels):
        if levels.size < 2 or np.any((levels <= 0) | (levels >= 1)):
            raise ValueError(
                "conformalised quantile regression needs an estimator with at least two "
                f"quantile levels in (0, 1); got quantiles={levels.tolist()}."
            )

    # ------------------------------------------------------------- helpers
    def _as_2d(self, a):
        a = np.asarray(a, dtype=float)
        return a.reshape(len(a), -1)

    def _bands(self, est, X):
        """(n, n_outputs, L): L=1 point prediction, or the L quantile predictions."""
        if self.quantile_levels_ is None:
            pred = np.asarray(est.predict(X), dtype=float)
            return pred.reshape(len(pred), self.n_outputs_, 1)
        q = np.asarray(_predict_quantiles(est, X), dtype=float)
        n_levels = len(self.quantile_levels_)
        if q.size != len(q) * self.n_outputs_ * n_levels:
            raise ValueError(
                f"predict_quantiles returned shape {q.shape}; expected ({len(q)}, {n_levels}) "
                f"or ({len(q)}, {self.n_outputs_}, {n_levels})."
            )
        return q.reshape(len(q), self.n_outputs_, n_levels)

    def _band_columns(self, alpha):
        """Indices of the lower/upper band columns used for miscoverage alpha."""
        if self.quantile_levels_ is None:
            return 0, 0
        levels = self.quantile_levels_
        # the quantile pair closest to (alpha/2, 1 - alpha/2); conformal calibration
        # corrects any mismatch, a close pair just keeps the band narrow
        lo = int(np.argmin(np.abs(levels - alpha / 2)))
        hi = int(np.argmin(np.abs(levels - (1 - alpha / 2))))
        if lo == hi:
            lo, hi = 0, len(levels) - 1
        return lo, hi

    def _scores(self, alpha):
        lo, hi = self._band_columns(alpha)
        b, y = self._calib_bands, self._calib_y
        return np.maximum(b[:, :, lo] - y, y - b[:, :, hi])

    def _shape_out(self, a):
        return a[:, 0] if self._y_ndim == 1 else a

    # ------------------------------------------------------------- predict
    def predict(self, X):
        """Point forecast.

        The wrapped estimator's prediction (``"split"``), or the mean of the fold
        models' predictions (``"cv_plus"``; no extra fit on all the data).

        Parameters
        ----------
        X : array-like, list of arrays or DataFrame
            Sequences in the layout used in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Point predictions.
        """
        check_is_fitted(self, "estimators_")
        if len(self.estimators_) == 1:
            return self.estimators_[0].predict(X)
        preds = [np.asarray(est.predict(X), dtype=float) for est in self.estimators_]
        return np.mean(preds, axis=0)

    def predict_interval(self, X, alpha=None):
        """Prediction intervals of level ``1 - alpha``.

        Parameters
        ----------
        X : array-like, list of arrays or DataFrame
            Sequences in the layout used in ``fit``.
        alpha : float in (0, 1) or None, default=None
            Miscoverage; None uses the ``alpha`` given at construction.

        Returns
        -------
        intervals : ndarray of shape (n_samples, 2) or (n_samples, n_outputs, 2)
            ``[..., 0]`` is the lower, ``[..., 1]`` the upper bound; the second
            shape when ``y`` was 2D in ``fit``.  Always ``lower <= upper``: a
            CQR band that over-covers on the calibration rows is *narrowed*
            (the conformal quantile is negative), and a test point whose band
            is narrower than that crosses; its interval is then the single
            point midway, which, like the crossed one, contains no ``y``, so
            the coverage is unchanged.
        """
        check_is_fitted(self, "estimators_")
        alpha = _check_alpha(self.alpha if alpha is None else alpha)
        lo_col, hi_col = self._band_columns(alpha)
        scores = self._scores(alpha)  # (n_cal, n_outputs)
        n = len(scores)
        k_hi = _upper_rank(n, alpha)
        if self.fold_of_sample_ is None:
            q = np.partition(scores, k_hi - 1, axis=0)[k_hi - 1]  # (n_outputs,)
            bands = self._bands(self.estimators_[0], X)
            out = np.stack([bands[:, :, lo_col] - q, bands[:, :, hi_col] + q], axis=-1)
        else:
            out = self._cv_plus_interval(X, scores, lo_col, hi_col, k_hi)
        crossed = out[..., 0] > out[..., 1]
        if crossed.any():
            # e.g. 13 of 400 points at alpha=0.5 on a heteroscedastic stand-in
            middle = out[crossed].mean(axis=-1)
            out[crossed] = middle[:, None]
        return self._shape_out(out)

    def _cv_plus_interval(self, X, scores, lo_col, hi_col, k_hi):
        # Barber et al. (2021), eq. (6): lower = floor(alpha(n+1))-th smallest of
        # lo_{-k(i)}(x) - E_i, upper = ceil((1-alpha)(n+1))-th smallest of
        # hi_{-k(i)}(x) + E_i, where k(i) is the fold that held sample i out.
        # floor(alpha(n+1)) = n + 1 - ceil((1-alpha)(n+1)) for every alpha.
        n = len(scores)
        k_lo = n + 1 - k_hi
        fold_bands = np.stack([self._bands(est, X) for est in self.estimators_])  # (K, m, o, L)
        m, n_out = fold_bands.shape[1], fold_bands.shape[2]
        out = np.empty((m, n_out, 2))
        step = max(1, _CVPLUS_CHUNK_FLOATS // max(1, n * n_out))
        f = self.fold_of_sample_
        for start in range(0, m, step):
            sl = slice(start, min(m, start + step))
            lower = fold_bands[f, sl, :, lo_col] - scores[:, None, :]  # (n, chunk, o)
            upper = fold_bands[f, sl, :, hi_col] + scores[:, None, :]
            out[sl, :, 0] = np.partition(lower, k_lo - 1, axis=0)[k_lo - 1]
            out[sl, :, 1] = np.partition(upper, k_hi - 1, axis=0)[k_hi - 1]
        return out

    # ---------------------------------------------------------- delegation
    @property
    def n_features_in_(self):
        """Number of features seen by the wrapped estimator in ``fit``."""
        check_is_fitted(self, "estimators_")
        return self.estimators_[0].n_features_in_

    @property
    def feature_names_in_(self):
        """Column names seen by the wrapped estimator, for DataFrame input."""
        check_is_fitted(self, "estimators_")
        return self.estimators_[0].feature_names_in_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self._base_estimator())
        # X goes to the wrapped estimator untouched: accept what it accepts
        tags.input_tags = inner.input_tags
        tags.target_tags.multi_output = inner.target_tags.multi_output
        tags.target_tags.required = True
        return tags
