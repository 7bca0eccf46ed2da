"""Plots for skgru: training curves and hyperparameter searches.

matplotlib is an optional dependency (``pip install 'skgru[plot]'``) imported
only when a plot is drawn.  Functions return the matplotlib ``Figure`` (when
they create it) or the ``Axes`` they drew on; they never call ``plt.show()``.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["plot_history", "plot_importances", "plot_search"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "skgru plotting needs matplotlib; install it with "
            "`pip install 'skgru[plot]'` (or `pip install matplotlib`)."
        ) from exc
    return plt


def _final_estimator(est):
    best = getattr(est, "best_estimator_", None)  # TunedGRU / *SearchCV
    if best is not None:
        est = best
    while hasattr(est, "steps") and est.steps:
        est = est.steps[-1][1]
    return est


# --------------------------------------------------------------------------
# plot_history
# --------------------------------------------------------------------------
def plot_history(estimator, ax=None):
    """Plot the training curves in ``estimator.history_``.

    Every metric ``m`` is drawn with its validation curve ``val_m`` when
    present.  A dashed vertical line marks ``estimator.best_epoch_`` (the
    epoch whose weights early stopping restored) when it is set.

    Parameters
    ----------
    estimator : fitted GRUClassifier / GRURegressor, a Pipeline ending in one,
        or a fitted TunedGRU / search (its ``best_estimator_`` is used).
    ax : matplotlib Axes, optional
        Draw every curve on this Axes.  By default a new figure is created
        with one panel for the losses and one for the other metrics.

    Returns
    -------
    matplotlib.figure.Figure if ``ax`` is None, else ``ax``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skgru import GRUClassifier
    >>> from skgru.plotting import plot_history
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(40, 5, 2))
    >>> y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    >>> clf = GRUClassifier(units=4, epochs=3, early_stopping=True, random_state=0).fit(X, y)
    >>> fig = plot_history(clf)
    >>> [ax.get_ylabel() for ax in fig.axes][:1]
    ['loss']
    """
    final = _final_estimator(estimator)
    history = getattr(final, "history_", None)
    if not isinstance(history, dict) or not history:
        raise ValueError(
            f"{type(final).__name__} has no training history (history_); fit it first."
        )
    plt = _pyplot()
    # the recorded learning rate (issue 18) is not a loss or a metric: not plotted here
    names = [k for k in history if not k.startswith("val_") and k != "learning_rate"]
    names += [k[4:] for k in history if k.startswith("val_") and k[4:] not in history]
    losses = [k for k in names if "loss" in k]
    metrics = [k for k in names if k not in losses]

    created = ax is None
    if created:
        n_panels = 1 + bool(metrics)
        fig, axes = plt.subplots(1, n_panels, figsize=(5.5 * n_panels, 4), squeeze=False)
        panels = [(axes[0, 0], losses)]
        if metrics:
            panels.append((axes[0, 1], metrics))
    else:
        fig = ax.figure
        panels = [(ax, losses + metrics)]

    best_epoch = getattr(final, "best_epoch_", None)
    for panel, keys in panels:
        for i, key in enumerate(keys):
            color = f"C{i}"
            for name, style in ((key, "-"), ("val_" + key, "--")):
                values = history.get(name)
                if values is None:
                    continue
                values = np.asarray(values, dtype=float)
                epochs = np.arange(1, len(values) + 1)
                label = name if name == key else f"{name} (validation)"
                panel.plot(epochs, values, style, color=color, label=label,
                           marker="o" if len(values) < 15 else None, markersize=3)
        if isinstance(best_epoch, numbers.Integral) and best_epoch > 0:
            panel.axvline(best_epoch, color="0.4", linestyle=":",
                          label=f"best epoch ({best_epoch})")
        panel.set_xlabel("epoch")
        panel.set_ylabel("loss" if keys is losses else "metric")
        panel.grid(alpha=0.3)
        if panel.get_legend_handles_labels()[0]:
            panel.legend(fontsize="small")
    title = type(final).__name__ + " training history"
    if created:
        fig.suptitle(title)
        fig.tight_layout()
        return fig
    ax.set_title(title)
    return ax


# --------------------------------------------------------------------------
# plot_search
# --------------------------------------------------------------------------
def _is_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and v is not None


def _scatter_param(ax, values, scores, ok, name):
    """Scatter score against one parameter (numeric or categorical)."""
    present = [i for i, v in enumerate(values) if v is not _MISSING]
    numeric = present and all(_is_number(values[i]) for i in present)
    if numeric:
        x = np.array([float(values[i]) for i in present])
        pos = x[x > 0]
        if pos.size == x.size and pos.size > 1 and pos.max() / pos.min() >= 10:
            ax.set_xscale("log")
    else:
        cats = []
        for i in present:
            r = repr(values[i]) if not isinstance(values[i], str) else values[i]
            if r not in cats:
                cats.append(r)
        x = np.array([cats.index(repr(values[i]) if not isinstance(values[i], str)
                                 else values[i]) for i in present], dtype=float)
        ax.set_xticks(range(len(cats)))
        ax.set_xticklabels(cats, rotation=30 if max(map(len, cats)) > 6 else 0,
                           fontsize="small")
        ax.set_xlim(-0.5, len(cats) - 0.5)
        jitter = np.random.RandomState(0).uniform(-0.12, 0.12, size=x.size)
        x = x + jitter
    s = np.asarray(scores)[present]
    good = np.asarray(ok)[present]
    ax.scatter(x[good], s[good], c=s[good], cmap="viridis", s=28, edgecolors="k",
               linewidths=0.3)
    if (~good).any():
        finite = np.asarray(scores)[np.asarray(ok)]
        low = np.nanmin(finite) if finite.size else 0.0
        ax.scatter(x[~good], np.full((~good).sum(), low), marker="x", color="red",
                   s=30, label="failed")
    ax.set_xlabel(name)
    ax.grid(alpha=0.3)


class _Missing:
    def __repr__(self):
        return "<missing>"


_MISSING = _Missing()


def _lineages(results):
    """Hyperband lineages: chains of trial indices following parent ids."""
    ids = list(results["trial_id"])
    parents = list(results.get("parent_trial_id", [None] * len(ids)))
    index = {tid: i for i, tid in enumerate(ids)}
    children = {}
    for i, p in enumerate(parents):
        if p is not None and p == p and p in index:  # skip None/NaN
            children.setdefault(index[p], []).append(i)
    chains = []
    for i, p in enumerate(parents):
        if p is None or p != p or p not in index:
            chain = [i]
            while chain[-1] in children:
                chain.append(children[chain[-1]][0])
            chains.append(chain)
    return chains


def _score_key(tuned, results, metric):
    """The ``mean_test_*`` column to draw."""
    if "mean_test_score" in results:
        return "mean_test_score"
    names = [k[len("mean_test_"):] for k in results if k.startswith("mean_test_")]
    if metric is None:
        refit = getattr(tuned, "refit", None)
        metric = refit if isinstance(refit, str) and refit in names else (
            names[0] if names else None)
    if metric not in names:
        raise ValueError(f"metric={metric!r} is not a metric of this search; "
                         f"choose one of {names}.")
    return f"mean_test_{metric}"


def plot_search(tuned, ax=None, metric=None):
    """Plot a fitted ``TunedGRU`` search.

    Draws the score of every trial in order (with the running best), then one
    scatter panel per searched hyperparameter (score against value; failed
    trials as red crosses), and, for Hyperband, the learning curves: score
    against budget (epochs) for every lineage of promoted trials, coloured by
    bracket.

    Parameters
    ----------
    tuned : fitted TunedGRU (anything with a ``cv_results_`` using sklearn's
        keys works, e.g. a fitted ``RandomizedSearchCV``).
    ax : matplotlib Axes, optional
        If given, only the score-per-trial panel is drawn, on this Axes.
    metric : str or None, default=None
        With several metrics (``scoring=[...]``), the one to draw; None: the
        ``refit`` metric, else the first.  Single-metric searches ignore it.

    Returns
    -------
    matplotlib.figure.Figure if ``ax`` is None, else ``ax``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skgru import GRUClassifier, TunedGRU
    >>> from skgru.plotting import plot_search
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 6, 2))
    >>> y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    >>> tuned = TunedGRU(GRUClassifier(epochs=2), {"units": [4, 8]}, tuner="grid",
    ...                  max_trials=2, random_state=0).fit(X, y)
    >>> fig = plot_search(tuned)
    >>> len(fig.axes) >= 2
    True
    """
    results = getattr(tuned, "cv_results_", None)
    if results is None:
        raise ValueError(f"{type(tuned).__name__} is not fitted (no cv_results_).")
    plt = _pyplot()
    key = _score_key(tuned, results, metric)
    scores = np.asarray(results[key], dtype=float)
    n = scores.size
    status = results.get("status")
    ok = (np.array([s == "COMPLETED" for s in status]) if status is not None
          else np.isfinite(scores))
    ok &= np.isfinite(scores)
    params = results["params"]
    names = getattr(tuned, "searched_params_", None)
    if names is None:
        names = [k[len("param_"):] for k in results if k.startswith("param_")]
    budgets = results.get("budget")
    hyperband = (
        budgets is not None and getattr(tuned, "tuner_name_", "") == "hyperband"
    ) or ("parent_trial_id" in results and any(
        p is not None and p == p for p in results["parent_trial_id"]))

    created = ax is None
    n_panels = 1 + len(names) + int(bool(hyperband))
    if created:
        ncols = min(3, n_panels)
        nrows = int(np.ceil(n_panels / ncols))
        fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.6 * nrows),
                                 squeeze=False)
        axes = list(axes.ravel())
        for extra in axes[n_panels:]:
            extra.set_visible(False)
        ax0 = axes[0]
    else:
        fig, ax0, axes = ax.figure, ax, [ax]

    # Panel 1: score per trial + running best.
    trials = np.arange(n)
    ax0.scatter(trials[ok], scores[ok], s=24, color="C0", label="trial score", zorder=3)
    if (~ok).any():
        low = np.nanmin(scores[ok]) if ok.any() else 0.0
        ax0.scatter(trials[~ok], np.full((~ok).sum(), low), marker="x", color="red",
                    label="failed", zorder=3)
    if ok.any():
        running = np.fmax.accumulate(np.where(ok, scores, -np.inf))
        running[np.isinf(running)] = np.nan
        ax0.step(trials, running, where="post", color="C1", label="best so far")
    best = getattr(tuned, "best_index_", None)
    if best is not None and 0 <= best < n:
        ax0.scatter([best], [scores[best]], s=120, facecolors="none", edgecolors="C3",
                    linewidths=1.5, label="best", zorder=4)
    ylabel = "mean test score" if key == "mean_test_score" else key.replace("_", " ")
    ax0.set_xlabel("trial")
    ax0.set_ylabel(ylabel)
    tuner = getattr(tuned, "tuner_name_", type(tuned).__name__)
    ax0.set_title(f"{tuner}: score per trial")
    ax0.grid(alpha=0.3)
    ax0.legend(fontsize="small")
    if not created:
        return ax

    # One panel per searched parameter.
    for k, name in enumerate(names, start=1):
        values = [p.get(name, _MISSING) for p in params]
        _scatter_param(axes[k], values, scores, ok, name)
        axes[k].set_ylabel(ylabel)

    # Hyperband learning curves.
    if hyperband:
        axh = axes[1 + len(names)]
        brackets = np.asarray(results.get("bracket", np.zeros(n)), dtype=float)
        budget_arr = np.ma.filled(np.ma.asarray(budgets).astype(float), np.nan)
        for chain in _lineages(results):
            b = brackets[chain[0]]
            color = f"C{int(b) % 10}" if b >= 0 else "C0"
            xs, ys = budget_arr[chain], scores[chain]
            axh.plot(xs, ys, "-o", color=color, markersize=3, alpha=0.8)
        for b in sorted(set(brackets[brackets >= 0].astype(int))):
            axh.plot([], [], "-o", color=f"C{b % 10}", label=f"bracket {b}")
        axh.set_xlabel("budget (epochs)")
        axh.set_ylabel(ylabel)
        axh.set_title("Hyperband learning curves")
        axh.grid(alpha=0.3)
        if axh.get_legend_handles_labels()[0]:
            axh.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_importances(tuned, ax=None):
    """Bar chart of a search's hyperparameter importances (``param_importances_``).

    Parameters
    ----------
    tuned : fitted TunedGRU
        Its ``param_importances_`` (Optuna's fANOVA over the completed trials;
        needs the ``optuna`` extra) are drawn, the most important on top.
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.

    Returns
    -------
    matplotlib.figure.Figure if ``ax`` is None, else ``ax``.

    Raises
    ------
    ValueError
        ``tuned`` has no ``param_importances_``: not a fitted ``TunedGRU``, or
        one whose search leaves nothing to explain (no parameter varied, or
        every counted trial scored the same); the message says which.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skgru import TunedGRU
    >>> from skgru.plotting import plot_importances
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.normal(size=(60, 3)), np.arange(60) % 2
    >>> tuned = TunedGRU(LogisticRegression(), {"C": [0.01, 0.1, 1.0],
    ...                  "fit_intercept": [True, False]}, tuner="grid",
    ...                  max_trials=None, random_state=0).fit(X, y)
    >>> fig = plot_importances(tuned)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()] == list(
    ...     tuned.param_importances_)[::-1]
    True
    """
    try:
        importances = tuned.param_importances_
    except AttributeError as exc:  # not fitted, or fitted with nothing to explain
        # TunedGRU's own reason once it is fitted; anything else (unfitted, or
        # another search such as GridSearchCV) gets the generic advice.
        fitted = (hasattr(tuned, "cv_results_")
                  and isinstance(getattr(type(tuned), "param_importances_", None), property))
        reason = str(exc) if fitted else "fit a TunedGRU first"
        raise ValueError(f"{type(tuned).__name__} has no param_importances_ "
                         f"({reason}).") from None
    plt = _pyplot()
    created = ax is None
    names = list(importances)[::-1]  # barh draws bottom-up: most important on top
    values = [importances[n] for n in names]
    if created:
        fig, ax = plt.subplots(figsize=(5.5, 0.45 * len(names) + 1.2))
    ax.barh(np.arange(len(names)), values, color="C0")
    ax.set_yticks(np.arange(len(names)))
    ax.set_yticklabels(names)
    ax.set_xlabel("importance (fANOVA, share of score variance)")
    ax.set_xlim(0, max(1.0, max(values) * 1.05))
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.2f}", va="center", fontsize="small")
    ax.set_title(f"{getattr(tuned, 'tuner_name_', type(tuned).__name__)}: "
                 "hyperparameter importances")
    if not created:
        return ax
    fig.tight_layout()
    return fig
