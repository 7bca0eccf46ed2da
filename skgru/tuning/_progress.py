"""TunedGRU's progress display (``verbose >= 1``), drawn with tqdm.

One bar per search on stderr: trials done / planned, elapsed time, rate and
ETA (tqdm's), and in its postfix the best score so far and the number of
failed trials.  ``tqdm.auto`` picks a notebook widget under Jupyter (when
ipywidgets is installed) and a text bar in a terminal.  ``verbose >= 2`` also
writes one line per trial above the bar (its score and parameters).

tqdm comes with the ``tuner`` extra and is imported only when a bar is drawn.
Without it the same information is printed as one line per trial.

The bar advances when a trial's result reaches this process: in loky and Dask
batches that is as each trial finishes (see :mod:`skgru.tuning._execution`),
before the oracle is told the whole batch in order.
"""

from __future__ import annotations

import sys
import time

__all__ = ["SearchProgress", "print_search_done"]


def _fmt(score):
    return "n/a" if score is None else f"{score:.4f}"


class SearchProgress:
    """The progress display of one search.

    Parameters
    ----------
    verbose : int
        ``0``: nothing at all; ``>= 1``: the bar; ``>= 2``: a line per trial.
    total : int or None
        Planned trials (``max_trials``; None: unknown, no ETA).
    objective : str
        Name of the metric shown as "best".
    file : file-like or None
        Default ``sys.stderr``.
    """

    def __init__(self, verbose, total, objective="score", file=None):
        self.verbose = int(verbose)
        self.total = total
        self.objective = objective or "score"
        self.file = file
        self.t_start = time.perf_counter()
        self._bar = None
        self._advanced = set()
        self._n = 0
        if self.verbose >= 1:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # pragma: no cover - tqdm comes with the tuner extra
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total, desc="TunedGRU", unit="trial",
                                 file=self._file(), dynamic_ncols=True, leave=True)
                self._bar.set_postfix_str(self._postfix(None, 0), refresh=False)

    def _file(self):
        return self.file if self.file is not None else sys.stderr

    def _postfix(self, best, n_failed):
        return f"best {self.objective}={_fmt(best)}, failed={n_failed}"

    def _write(self, msg):
        if self._bar is not None:
            self._bar.write(msg, file=self._file())
        else:
            print(msg, file=self._file(), flush=True)

    def resumed(self, n, best, n_failed):
        """``n`` trials were restored from ``directory``."""
        if self.verbose < 1 or n == 0:
            return
        self._n += n
        if self._bar is not None:
            self._bar.update(n)
            self._bar.set_postfix_str(self._postfix(best, n_failed))
        self._write(f"[TunedGRU] resumed {n} trials from the saved state")

    def timed_out(self, n_trials):
        """The timeout passed: no new trial starts after the ``n_trials`` asked."""
        if self.verbose >= 1:
            self._write(f"[TunedGRU] timeout: no new trial after "
                        f"{time.perf_counter() - self.t_start:.1f}s ({n_trials} trials asked)")

    def arrived(self, index):
        """The result of trial ``index`` reached this process (advance the bar)."""
        if self.verbose < 1 or index in self._advanced:
            return
        self._advanced.add(index)
        self._n += 1
        if self._bar is not None:
            self._bar.update(1)

    def trial_done(self, rec, best, n_failed):
        """Trial ``rec`` was recorded and told to the oracle."""
        if self.verbose < 1:
            return
        self.arrived(rec["index"])
        if self._bar is not None:
            self._bar.set_postfix_str(self._postfix(best, n_failed))
        if self._bar is None or self.verbose >= 2:
            self._write(self._line(rec, best))
            if self.verbose >= 2:
                self._write(f"           params={rec['params']}")

    def _line(self, rec, best):
        count = f"{self._n}/{self.total}" if self.total else f"{self._n}"
        score_s = "FAILED" if rec["status"] != "COMPLETED" else f"{rec['mean']:.4f}"
        budget = f" {rec['budget']} ep" if rec["budget"] is not None else ""
        cont = " (continued)" if rec.get("continued") else ""
        msg = (f"[TunedGRU] trial {count}{budget}{cont}: {self.objective}={score_s} "
               f"best={_fmt(best)} elapsed={time.perf_counter() - self.t_start:.1f}s")
        if rec["status"] != "COMPLETED":
            msg += f" ({rec['error']})"
        return msg

    def close(self):
        """Remove nothing: leave the finished bar on screen."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def print_search_done(n_trials, n_failed, best_score, best_params, file=None):
    """The final line of a search."""
    best = "" if best_score is None else f", best score {best_score:.4f} with {best_params}"
    print(f"[TunedGRU] done: {n_trials} trials ({n_failed} failed){best}",
          file=file if file is not None else sys.stderr, flush=True)
