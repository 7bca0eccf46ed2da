"""TunedGRU's progress lines on stderr (``verbose >= 1``)."""

from __future__ import annotations

import sys
import time

__all__ = ["print_search_done", "print_trial_progress"]


def print_trial_progress(verbose, rec, n_done, total, best, t_start):
    """One line for a finished trial (``verbose >= 2``: and its parameters).

    Parameters
    ----------
    verbose : int
    rec : dict
        The trial's record.
    n_done : int
        Trials finished so far, this one included.
    total : int or None
        ``max_trials`` (None: no progress bar).
    best : float or None
        The best score so far.
    t_start : float
        ``time.perf_counter()`` when the search started.
    """
    if verbose < 1:
        return
    width = 20
    if total:
        filled = int(round(width * min(n_done, total) / total))
        bar = "[" + "#" * filled + "-" * (width - filled) + "]"
        count = f"{n_done}/{total}"
    else:
        bar, count = "", f"{n_done}"
    score = rec["mean"]
    score_s = "FAILED" if rec["status"] != "COMPLETED" else f"{score:.4f}"
    best_s = "n/a" if best is None else f"{best:.4f}"
    budget = f" {rec['budget']} ep" if rec["budget"] is not None else ""
    cont = " (continued)" if rec.get("continued") else ""
    msg = (f"[TunedGRU] {bar} trial {count}{budget}{cont}: score={score_s} "
           f"best={best_s} elapsed={time.perf_counter() - t_start:.1f}s")
    if rec["status"] != "COMPLETED":
        msg += f" ({rec['error']})"
    print(msg, file=sys.stderr, flush=True)
    if verbose >= 2:
        print(f"           params={rec['params']}", file=sys.stderr, flush=True)


def print_search_done(n_trials, n_failed, best_score, best_params):
    """The final line of a search."""
    print(f"[TunedGRU] done: {n_trials} trials "
          f"({n_failed} failed), best score "
          f"{best_score:.4f} with {best_params}",
          file=sys.stderr, flush=True)
