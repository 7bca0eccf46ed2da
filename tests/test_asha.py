"""tuner="asha": asynchronous successive halving over epochs (issue 14, point 2).

The promotion rule, the schedule and the budget are unit-tested on the pure
scheduler (skgru/tuning/_asha.py) with synthetic scores; the search machinery
with a millisecond stand-in estimator; one end-to-end search trains real GRUs
on a digits subset (8x8 sequences) and checks that promoted fold models are
continued, not retrained.  The Dask run is marked slow.
"""

import sys

import numpy as np
import pytest

pytest.importorskip("keras_tuner")
pytest.importorskip("scipy")

import cloudpickle  # noqa: E402
from scipy.stats import loguniform, randint, uniform  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402

from skgru.tuning import TunedGRU  # noqa: E402
from skgru.tuning import _session  # noqa: E402
from skgru.tuning._asha import ASHAScheduler, Proposal, asha_rungs  # noqa: E402

# loky and Dask workers unpickle the stand-in defined here: ship it by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


class EpochStub(ClassifierMixin, BaseEstimator):
    """A stand-in for a GRU: ``epochs``, ``warm_start``, ``history_``.

    Its score peaks at lr=0.3 and grows with the epochs trained in total; a
    small seed-dependent term makes seeding observable.
    """

    def __init__(self, epochs=3, lr=0.1, units=4, mode="ok", warm_start=False,
                 random_state=None):
        self.epochs = epochs
        self.lr = lr
        self.units = units
        self.mode = mode
        self.warm_start = warm_start
        self.random_state = random_state

    def fit(self, X, y):
        if self.mode == "raise":
            raise ValueError("boom")
        if self.warm_start and hasattr(self, "n_iter_"):
            self.n_iter_ += self.epochs
            self.n_fits_ += 1
        else:
            self.n_iter_ = self.epochs
            self.n_fits_ = 1
        self.history_ = {"loss": [1.0 / (e + 1) for e in range(self.n_iter_)]}
        self.classes_ = np.unique(y)
        self.n_train_ = len(X)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y):
        noise = 0.0
        if self.random_state is not None:
            noise = np.random.RandomState(self.random_state).uniform(0, 1e-3)
        return float(1.0 - (float(self.lr) - 0.3) ** 2 - 1.0 / (1 + self.n_iter_) + noise)


@pytest.fixture
def xy():
    rng = np.random.RandomState(0)
    return rng.normal(size=(36, 3)), np.arange(36) % 2


def _rows(res):
    return len(res["params"])


# ----------------------------------------------------------------------------
# the pure scheduler: schedule, rule, budget, which models to keep
# ----------------------------------------------------------------------------
def test_rungs_are_anchored_at_max_epochs():
    assert asha_rungs(1, 27, 3) == (1, 3, 9, 27)
    assert asha_rungs(1, 10, 3) == (1, 3, 10)
    assert asha_rungs(2, 16, 2) == (2, 4, 8, 16)
    assert asha_rungs(1, 2, 3) == (2,)  # one rung: a random search at max_epochs
    assert asha_rungs(5, 5, 2) == (5,)


@pytest.mark.parametrize("args, match", [
    ((4, 3, 3), "min_epochs=4 must be <= max_epochs=3"),
    ((1, 9, 1), "reduction_factor must be an int >= 2"),
    ((1, 9, 2.5), "reduction_factor must be an int >= 2"),
    ((0, 9, 3), "min_epochs must be an int >= 1"),
    ((1, None, 3), "max_epochs must be an int >= 1"),
])
def test_schedule_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        asha_rungs(*args)
    with pytest.raises(ValueError, match=match):
        ASHAScheduler(*args, max_trials=5)


def test_scheduler_rejects_bad_limits():
    with pytest.raises(ValueError, match="max_trials"):
        ASHAScheduler(1, 9, 3, max_trials=0)
    with pytest.raises(ValueError, match="budget"):
        ASHAScheduler(1, 9, 3, budget=-1)


def _start(sched, job_id):
    prop = sched.propose()
    assert prop.kind in ("new", "promote"), prop
    sched.start(job_id, prop)
    return prop


def test_promotion_is_asynchronous():
    """A configuration goes up as soon as it is in the top 1/eta of its rung's
    completed configurations: no waiting for the rung to fill, nor for the
    trials still running."""
    s = ASHAScheduler(1, 9, 3, max_trials=100)
    assert s.rungs == (1, 3, 9)
    for job in "abcd":
        assert _start(s, job) == Proposal("new", 0, None, 1)
    s.report("a", 0.5)
    s.report("b", 0.9)
    assert s.propose().kind == "new"  # 2 completed: top floor(2/3) = 0
    s.report("c", 0.1)  # 3 completed, "d" still running
    assert s.propose() == Proposal("promote", 1, "b", 2)  # r_1 - r_0 epochs
    _start(s, "b1")
    assert s.propose().kind == "new"  # b is promoted already, no one else is top 1/3
    s.report("d", 0.95)  # now d is the top 1 of 4
    assert s.propose() == Proposal("promote", 1, "d", 2)
    _start(s, "d1")
    # A promoted configuration is never promoted twice.
    with pytest.raises(ValueError, match="promoted already"):
        s.start("x", Proposal("promote", 1, "d", 2))


def test_highest_rung_first_and_failures_stop_a_configuration():
    s = ASHAScheduler(1, 9, 3, max_trials=100)
    for i in range(9):
        _start(s, f"c{i}")
    for i in range(9):
        s.report(f"c{i}", float(i))  # c8 best
    for parent in ("c8", "c7", "c6"):  # the top 3 of 9 go to rung 1
        prop = s.propose()
        assert (prop.kind, prop.rung, prop.config) == ("promote", 1, parent)
        s.start(parent + "+", prop)
    s.report("c8+", 1.0)
    s.report("c7+", None)  # failed: never promoted, not counted at rung 1
    s.report("c6+", 2.0)
    assert s.promotable(1) == []  # 2 completed at rung 1: floor(2/3) = 0
    assert s.propose().kind == "new"
    _start(s, "c9")
    s.report("c9", 100.0)  # rung 0: 10 completed, top 3 = c9, c8, c7 (both promoted)
    assert s.propose() == Proposal("promote", 1, "c9", 2)
    s.start("c9+", s.propose())
    s.report("c9+", 0.5)  # rung 1: 3 completed (c6 2.0 is the top one)
    # Rung 1's candidate is proposed before rung 0's.
    assert s.propose() == Proposal("promote", 2, "c6", 6)


def test_trial_limit_and_default_budget():
    s = ASHAScheduler(1, 27, 3, max_trials=30)
    # Largest synchronous bracket within 30 trials: 21 configurations
    # (21 + 7 + 2 trials), 21 * 1 + 7 * 2 + 2 * 6 epochs.
    assert s.budget == 47
    assert ASHAScheduler(1, 27, 3).budget == 27 + 9 * 2 + 3 * 6 + 1 * 18
    # Without warm start a promotion retrains from scratch and costs r_k.
    assert ASHAScheduler(1, 9, 3, max_trials=13, continued=False).budget == 9 + 3 * 3 + 1 * 9
    assert ASHAScheduler(1, 9, 3, max_trials=5, budget=4).budget == 4


def test_a_promotion_without_models_to_continue_costs_its_whole_rung():
    """models_held(config, rung) false (the models were lost): the promotion retrains
    from scratch, is charged r_k, and gives way to the next candidate whose models are
    held when r_k does not fit."""
    s = ASHAScheduler(1, 9, 3, budget=9)
    for job, score in (("a", 0.9), ("b", 0.8), ("c", 0.1), ("d", 0.2), ("e", 0.3), ("f", 0.4)):
        s.start(job, Proposal("new", 0, None, 1))
        s.report(job, score)
    assert s.promotable(0) == ["a", "b"]  # the top 6 // 3
    assert s.propose() == Proposal("promote", 1, "a", 2)  # continued: 3 - 1 epochs
    s.models_held = lambda config, rung: config != "a"
    assert s.promotion_cost("a", 1) == 3 and s.promotion_cost("b", 1) == 2
    assert s.propose() == Proposal("promote", 1, "a", 3)  # 6 spent, 3 left: fits
    s.budget = 8  # 2 left: "a" from scratch does not fit, "b" continued does
    assert s.propose() == Proposal("promote", 1, "b", 2)
    # Without warm start every promotion is whole anyway.
    s2 = ASHAScheduler(1, 9, 3, continued=False)
    s2.models_held = lambda config, rung: False
    assert s2.promotion_cost("x", 2) == s2.cost(2) == 9


@pytest.mark.parametrize("seed", range(5))
def test_budget_and_trial_limit_are_never_exceeded(seed):
    """Random scores, random completion order, up to 4 jobs in flight."""
    rng = np.random.RandomState(seed)
    budget = [None, 40][seed % 2]
    s = ASHAScheduler(1, 27, 3, max_trials=60, budget=budget)
    running, n, costs, waits = [], 0, 0, 0
    while True:
        prop = s.propose()
        if prop.kind in ("new", "promote") and len(running) < 4:
            s.start(n, prop)
            running.append(n)
            costs += prop.cost
            n += 1
        elif prop.kind == "stop" and not running:
            break
        else:
            waits += prop.kind == "wait"
            job = running.pop(rng.randint(len(running)))
            s.report(job, None if rng.rand() < 0.1 else rng.rand())
        assert s.spent == costs <= s.budget
        assert s.n_started <= 60
    assert s.n_started == n and sum(s.counts()) == n
    assert s.keep_ids() == set()  # finished: no model is needed any more
    assert s.counts()[1] > 0  # something was promoted


def test_keep_ids_drops_configurations_that_are_out():
    many = ASHAScheduler(1, 9, 3, max_trials=100)
    for job in "abc":
        _start(many, job)
    many.report("a", 0.1)
    many.report("b", 0.2)
    assert many.keep_ids() == {"a", "b"}  # many more may come: a could still go up

    s = ASHAScheduler(1, 9, 3, max_trials=4)  # 3 + 1 promotion fit in 4 trials
    for job in "abc":
        _start(s, job)
    s.report("a", 0.1)
    s.report("b", 0.2)
    # 2 done + c running + 1 trial left: at most 4 at rung 0, so only the top 1 of
    # them goes up, and a (2nd now, never better later) is out for good.
    assert s.keep_ids() == {"b"}
    s.report("c", 0.3)
    assert s.keep_ids() == {"c"}
    _start(s, "c+")  # promoted: its models move to the promotion
    assert s.keep_ids() == set()
    s.report("c+", 1.0)  # the trial limit is reached: nothing starts again
    assert s.propose().kind == "stop" and s.keep_ids() == set()


def test_exhausted_space_waits_for_running_promotions():
    s = ASHAScheduler(1, 3, 3, max_trials=10)
    for job in "abc":
        _start(s, job)
    s.exhaust()  # e.g. a finite grid: no new configuration
    assert s.propose().kind == "wait"  # a promotion may still come from a, b, c
    s.report("a", 1.0)
    s.report("b", 0.0)
    assert s.propose().kind == "wait"
    s.report("c", 0.5)
    assert s.propose() == Proposal("promote", 1, "a", 2)
    s.start("a+", s.propose())
    s.report("a+", 2.0)
    assert s.propose().kind == "stop"


# ----------------------------------------------------------------------------
# TunedGRU(tuner="asha") with the stand-in
# ----------------------------------------------------------------------------
def _asha(**kw):
    kw.setdefault("max_trials", 30)
    kw.setdefault("max_epochs", 27)
    kw.setdefault("random_state", 0)
    kw.setdefault("tuner_params", {"min_epochs": 1, "reduction_factor": 3})
    space = kw.pop("space", {"lr": uniform(0, 0.6)})
    return TunedGRU(EpochStub(), space, tuner="asha", **kw)


def test_search_continues_promotions_within_the_budget(xy):
    X, y = xy
    tuned = _asha(cv=3).fit(X, y)
    res = tuned.cv_results_
    assert np.all(res["status"] == "COMPLETED")
    assert tuned.n_resources_ == [1, 3, 9, 27]
    assert set(res["n_resources"]) <= {1, 3, 9, 27}
    np.testing.assert_array_equal(res["n_resources"], np.asarray(res["budget"]))
    np.testing.assert_array_equal(res["iter"], np.asarray(res["round"]))
    ids = list(res["trial_id"])
    promoted = [i for i, p in enumerate(res["parent_trial_id"]) if p is not None]
    assert len(promoted) >= 3 and max(res["iter"]) >= 2
    for i in promoted:
        parent = ids.index(res["parent_trial_id"][i])
        assert parent < i and res["iter"][i] == res["iter"][parent] + 1
        assert res["params"][i] == res["params"][parent]
        # Continued on each of the 3 folds: only the missing epochs were trained.
        assert res["epochs_trained"][i] == 3 * (res["n_resources"][i] - res["n_resources"][parent])
        # The continued models were scored as trained (budget epochs in total).
        expected = 1 - (res["params"][i]["lr"] - 0.3) ** 2 - 1 / (1 + res["n_resources"][i])
        assert res["mean_test_score"][i] == pytest.approx(expected, abs=2e-3)
    assert tuned.n_trials_ == _rows(res) <= 30
    assert tuned.n_epochs_spent_ == int(np.sum(res["epochs_trained"]))
    assert tuned.n_epochs_spent_ <= tuned.n_epochs_budget_ == 3 * 47
    n_configs = int(np.sum(res["iter"] == 0))
    assert tuned.n_candidates_[0] == n_configs
    assert tuned.n_epochs_spent_ < n_configs * 27 * 3  # full trainings of every config
    summary = tuned.oracle_summary_
    assert summary["rungs"] == [1, 3, 9, 27] and summary["budget_per_split"] == 47


def test_best_is_the_best_of_the_highest_rung_and_refits_at_its_epochs(xy):
    X, y = xy
    tuned = _asha().fit(X, y)
    res = tuned.cv_results_
    top = max(res["iter"])
    at_top = np.flatnonzero(np.asarray(res["iter"]) == top)
    assert tuned.best_index_ in at_top
    assert tuned.best_score_ == np.max(res["mean_test_score"][at_top])
    assert tuned.best_params_ == res["params"][tuned.best_index_]
    assert tuned.best_estimator_.epochs == res["n_resources"][tuned.best_index_]
    assert tuned.best_estimator_.n_fits_ == 1  # refit from scratch on all data
    assert tuned.best_estimator_.n_train_ == len(X)
    # The refit uses the configuration's seed (the one its rung-0 models had).
    root = tuned.best_index_
    while res["parent_trial_id"][root] is not None:
        root = list(res["trial_id"]).index(res["parent_trial_id"][root])
    assert res["iter"][root] == 0


def test_budget_from_tuner_params_binds(xy):
    X, y = xy
    tuned = _asha(cv=2, max_trials=None,
                  tuner_params={"min_epochs": 1, "reduction_factor": 3,
                                "max_epochs_total": 20}).fit(X, y)
    assert tuned.n_epochs_budget_ == 40
    # No trial limit: new configurations (1 epoch) fill the budget to the last epoch.
    assert tuned.n_epochs_spent_ == 40


def test_seeded_search_is_reproducible_and_spaces_work(xy):
    X, y = xy

    def space_fn(hp):
        return {"lr": hp.Float("lr", 0.0, 0.6), "units": hp.Choice("units", [2, 4])}

    for space in ({"lr": uniform(0, 0.6), "units": randint(2, 9)},
                  {"lr": [0.1, 0.2, 0.3, 0.4], "units": [2, 4, 8]},
                  {"lr": loguniform(0.01, 0.6)},
                  space_fn):
        a = _asha(space=space, max_trials=12, max_epochs=9, cv=2).fit(X, y)
        b = _asha(space=space, max_trials=12, max_epochs=9, cv=2).fit(X, y)
        assert a.cv_results_["params"] == b.cv_results_["params"]
        np.testing.assert_array_equal(a.cv_results_["mean_test_score"],
                                      b.cv_results_["mean_test_score"])
        assert list(a.cv_results_["parent_trial_id"]) == list(b.cv_results_["parent_trial_id"])
        assert a.best_params_ == b.best_params_
        assert (a.cv_results_["iter"] > 0).any()
    # A different seed gives another search.
    c = _asha(space=space_fn, max_trials=12, max_epochs=9, cv=2, random_state=1).fit(X, y)
    assert c.cv_results_["params"] != a.cv_results_["params"]


class CrashingEpochStub(EpochStub):
    """EpochStub whose fits raise KeyboardInterrupt after ``CRASH["after"]`` of them
    (a search killed mid-way)."""

    def fit(self, X, y):
        CRASH["fits"] += 1
        if CRASH["after"] is not None and CRASH["fits"] > CRASH["after"]:
            raise KeyboardInterrupt
        return super().fit(X, y)


CRASH = {"fits": 0, "after": None}


RESUMABLE = dict(tuner="asha", max_trials=None, max_epochs=9, cv=3, random_state=0,
                 tuner_params={"min_epochs": 1, "sampler": "random"})


def _killed_then_resumed(X, y, directory, *kills):
    """Fit a resumable ASHA search in ``directory``, killed after ``kills[0]`` fits,
    resumed and killed again after ``kills[1]`` fits..., then resumed to the end."""
    space = {"lr": uniform(0, 0.6)}
    for after in kills:
        CRASH.update(fits=0, after=after)
        try:
            with pytest.raises(KeyboardInterrupt):
                TunedGRU(CrashingEpochStub(), space, directory=directory, **RESUMABLE).fit(X, y)
        finally:
            CRASH.update(fits=0, after=None)
    return TunedGRU(CrashingEpochStub(), space, directory=directory, **RESUMABLE).fit(X, y)


def _spent_as_charged(tuned):
    """The epochs trained equal what the scheduler charged (3 folds) and fit the budget."""
    assert tuned.n_epochs_spent_ == int(np.sum(tuned.cv_results_["epochs_trained"]))
    assert tuned.n_epochs_spent_ == 3 * tuned.oracle_summary_["spent_per_split"]
    assert tuned.n_epochs_spent_ <= tuned.n_epochs_budget_ == 3 * 21


@pytest.mark.parametrize("after", [9, 21])
def test_a_resumed_search_stays_within_its_epoch_budget(xy, tmp_path, after):
    """A search killed and resumed from ``directory`` loses the fold models held in
    memory: a promotion of a configuration that ended before the kill retrains from
    scratch, and ASHA charges it the whole rung, so the budget still holds (before,
    such resumes spent 66-75 epochs of a 63-epoch budget)."""
    X, y = xy
    resumed = _killed_then_resumed(X, y, str(tmp_path), after)
    res = resumed.cv_results_
    assert resumed.resumed_trials_ > 0
    _spent_as_charged(resumed)
    # Promotions after the resume whose parent ended before it trained the whole rung.
    restored = set(list(res["trial_id"])[: resumed.resumed_trials_])
    whole = [i for i, p in enumerate(res["parent_trial_id"])
             if p in restored and res["trial_id"][i] not in restored]
    assert whole  # these crash points leave such a promotion
    for i in whole:
        assert res["epochs_trained"][i] == 3 * res["n_resources"][i]


@pytest.mark.parametrize("kills", [(9,), (21,), (9, 6), (6, 9), (12, 12)])
def test_a_history_with_resumes_replays_exactly(xy, tmp_path, kills):
    """The state records where a search was resumed, so a later replay prices each
    promotion as it was priced then: a search killed (once or twice) and resumed,
    then fitted again on the same directory, replays every trial and trains nothing."""
    X, y = xy
    done = _killed_then_resumed(X, y, str(tmp_path), *kills)
    _spent_as_charged(done)
    again = TunedGRU(CrashingEpochStub(), {"lr": uniform(0, 0.6)}, directory=str(tmp_path),
                     **RESUMABLE).fit(X, y)
    assert again.resumed_trials_ == len(done.cv_results_["params"])
    for key in ("trial_id", "params", "parent_trial_id", "epochs_trained"):
        assert list(again.cv_results_[key]) == list(done.cv_results_[key])
    assert again.oracle_summary_["spent_per_split"] == done.oracle_summary_["spent_per_split"]


def test_a_promotion_left_running_restarts_and_is_charged_whole(xy, tmp_path):
    """A promotion running when the state was saved (n_jobs > 1) has no parent models
    after the resume: it retrains its whole rung, and ASHA charges it so."""
    import json

    from skgru.tuning._state import STATE_FILE, state_checksum

    X, y = xy
    space = {"lr": uniform(0, 0.6)}
    full = TunedGRU(CrashingEpochStub(), space, directory=str(tmp_path), **RESUMABLE).fit(X, y)
    res = full.cv_results_
    promoted = next(i for i, p in enumerate(res["parent_trial_id"]) if p is not None)
    tid = res["trial_id"][promoted]
    # The state as a parallel search could have left it: the promotion created, not ended.
    path = tmp_path / STATE_FILE
    state = json.loads(path.read_text())
    cut = state["events"].index(["create", state["events"][0][1], tid])
    state["events"] = state["events"][: cut + 1]
    created = {e[2] for e in state["events"] if e[0] == "create"}
    state["trials"] = {k: v for k, v in state["trials"].items() if k in created and k != tid}
    state["checksum"] = state_checksum(state)
    path.write_text(json.dumps(state))
    resumed = TunedGRU(CrashingEpochStub(), space, directory=str(tmp_path), **RESUMABLE).fit(X, y)
    again = resumed.cv_results_
    row = list(again["trial_id"]).index(tid)
    assert again["parent_trial_id"][row] == res["parent_trial_id"][promoted]
    assert again["epochs_trained"][row] == 3 * again["n_resources"][row]  # from scratch
    assert res["epochs_trained"][promoted] < again["epochs_trained"][row]  # was continued
    _spent_as_charged(resumed)


def test_param_importances_on_the_bottom_rung(xy):
    pytest.importorskip("optuna")
    X, y = xy
    tuned = _asha(space={"lr": uniform(0, 0.6), "units": [2, 4, 8]}).fit(X, y)
    imp = tuned.param_importances_
    assert set(imp) <= {"lr", "units"} and imp
    assert sum(imp.values()) == pytest.approx(1.0)
    assert all(v >= 0 for v in imp.values())
    assert max(imp, key=imp.get) == "lr"  # units does not change the score


def test_fold_models_are_dropped_once_out(xy, monkeypatch):
    """Models are kept only for configurations that can still be promoted."""
    X, y = xy
    seen = []
    checkpoint = _session.SearchSession.checkpoint

    def spy(self):
        checkpoint(self)
        kept = set(self._models)
        seen.append((kept, self.oracle.promotable_trial_ids()))

    monkeypatch.setattr(_session.SearchSession, "checkpoint", spy)
    _asha(cv=2).fit(X, y)
    assert seen
    for kept, allowed in seen:
        assert kept <= allowed
    assert max(len(k) for k, _ in seen) >= 2  # models were kept for promotions...
    assert len(seen[-1][0]) == 0  # ...and none once nothing can start any more


@pytest.mark.parametrize("kw, match", [
    (dict(tuner_params={"min_epochs": 10}), "min_epochs=10 must be <= max_epochs=9"),
    (dict(tuner_params={"reduction_factor": 1}), "reduction_factor must be an int >= 2"),
    (dict(tuner_params={"eta": 3}), "Invalid tuner_params.*eta"),
    (dict(tuner_params={"max_epochs": 5}), "disagree"),
    (dict(space={"epochs": [1, 2]}), "cannot be in the search space with ASHA"),
    (dict(tuner_params={"sampler": "bohb"}), "sampler must be 'tpe' or 'random'"),
    (dict(tuner_params={"random_fraction": 1.5}), r"random_fraction must be a number in \[0, 1\]"),
    (dict(tuner_params={"min_points": 1}), "min_points must be an int >= 2"),
])
def test_bad_settings_raise_before_training(kw, match, xy):
    X, y = xy
    kw = {"max_epochs": 9, **kw}
    with pytest.raises(ValueError, match=match):
        _asha(**kw).fit(X, y)


def test_tpe_sampler_aims_new_configurations(xy):
    # BOHB's idea on ASHA's rungs: once a rung has min_points results, TPE proposes
    # the new configurations.  The stub's score peaks at lr=0.3: TPE's proposals land
    # near it, random draws from U(0, 0.6) are 0.15 away on average.
    pytest.importorskip("optuna")
    X, y = xy
    distance = {}
    for sampler in ("tpe", "random"):
        params = {"min_epochs": 1, "reduction_factor": 3, "sampler": sampler, "random_fraction": 0.0}
        res = _asha(cv=2, max_trials=80, max_epochs=9, tuner_params=params).fit(X, y).cv_results_
        new = [p["lr"] for p, it in zip(res["params"], res["iter"]) if it == 0]
        assert len(new) >= 25
        distance[sampler] = np.mean(np.abs(np.asarray(new[10:]) - 0.3))
    assert distance["tpe"] < 0.6 * distance["random"], distance


def test_random_fraction_one_is_the_random_sampler(xy):
    X, y = xy
    runs = [_asha(cv=2, max_trials=20, max_epochs=9,
                  tuner_params={"min_epochs": 1, "sampler": sampler, "random_fraction": fraction}
                  ).fit(X, y).cv_results_["params"]
            for sampler, fraction in (("tpe", 1.0), ("random", 0.5))]
    assert runs[0] == runs[1]


def test_max_epochs_from_tuner_params_or_the_estimator(xy):
    X, y = xy
    a = _asha(max_epochs=None, max_trials=6,
              tuner_params={"max_epochs": 9, "min_epochs": 3}).fit(X, y)
    assert a.n_resources_ == [3, 9]
    b = TunedGRU(EpochStub(epochs=4), {"lr": uniform(0, 0.6)}, tuner="asha",
                 max_trials=6, tuner_params={"reduction_factor": 2}).fit(X, y)
    assert b.n_resources_ == [1, 2, 4]


def test_failed_trials_are_not_promoted(xy):
    X, y = xy
    from sklearn.exceptions import FitFailedWarning

    with pytest.warns(FitFailedWarning, match="trials failed"):
        tuned = _asha(space={"lr": uniform(0, 0.6), "mode": ["ok", "raise"]},
                      max_epochs=9).fit(X, y)
    res = tuned.cv_results_
    failed = set(np.asarray(res["trial_id"])[res["status"] == "FAILED"])
    assert failed
    assert not failed & set(p for p in res["parent_trial_id"] if p is not None)


def test_loky_streams_trials(xy, monkeypatch):
    """n_jobs=2 on loky: trials are submitted one by one as others end."""
    from skgru.tuning import _loky

    X, y = xy
    events = []
    submit, done = _loky.LokyTrialExecutor.submit, _loky.LokyTrialExecutor.next_completed

    def spy_submit(self, job, index):
        events.append(("submit", len(self._futures)))
        return submit(self, job, index)

    def spy_done(self):
        out = done(self)
        events.append(("done", len(self._futures)))
        return out

    monkeypatch.setattr(_loky.LokyTrialExecutor, "submit", spy_submit)
    monkeypatch.setattr(_loky.LokyTrialExecutor, "next_completed", spy_done)
    tuned = _asha(cv=2, max_trials=14, max_epochs=9, n_jobs=2).fit(X, y)
    assert tuned.parallel_backend_ == "loky"
    res = tuned.cv_results_
    assert np.all(res["status"] == "COMPLETED")
    assert len(events) == 2 * _rows(res)
    # Streaming: after a trial ends, the next is sent while the other still runs.
    assert any(a == ("done", 1) and b == ("submit", 1) for a, b in zip(events, events[1:]))
    assert tuned.n_epochs_spent_ <= tuned.n_epochs_budget_
    promoted = [i for i, p in enumerate(res["parent_trial_id"]) if p is not None]
    assert promoted
    ids = list(res["trial_id"])
    for i in promoted:  # the parents' fold models travelled to a worker and on
        parent = ids.index(res["parent_trial_id"][i])
        assert res["epochs_trained"][i] == 2 * (res["n_resources"][i] - res["n_resources"][parent])


# ----------------------------------------------------------------------------
# real GRUs: a digits subset as 8x8 sequences
# ----------------------------------------------------------------------------
class _EpochCounter:
    """Counts every epoch actually trained in this process (class-level: the
    estimator's callbacks are deep-copied by clone)."""

    n = 0


def _counter_callback():
    import keras

    class Count(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            _EpochCounter.n += 1

    return Count()


def _steps(est):
    import keras

    return int(keras.ops.convert_to_numpy(est.model_.optimizer.iterations))


@pytest.mark.slow  # a Keras callback makes every fit trace its own graph (~30 s)
def test_gru_end_to_end_epochs_actually_trained(digits_sequences):
    from skgru import GRUClassifier

    X, y = digits_sequences
    X, y = X[:240], y[:240]
    _EpochCounter.n = 0
    est = GRUClassifier(units=4, batch_size=32, random_state=0,
                        callbacks=[_counter_callback()])
    tuned = TunedGRU(est, {"learning_rate": loguniform(3e-3, 3e-2), "units": [4, 6]},
                     tuner="asha", max_trials=5, max_epochs=3, cv=2, random_state=0,
                     tuner_params={"min_epochs": 1, "reduction_factor": 3}).fit(X, y)
    res = tuned.cv_results_
    assert np.all(res["status"] == "COMPLETED"), res["error"]
    assert list(res["iter"]) == [0, 0, 0, 1, 0]  # 3 at 1 epoch, the best one to 3 epochs
    assert tuned.n_epochs_spent_ == 2 * (4 * 1 + 2) <= tuned.n_epochs_budget_
    # Epochs actually trained: the search's count plus the refit (3 epochs) -- a
    # promotion retrained from scratch would add 2 folds x 1 epoch.
    assert _EpochCounter.n == tuned.n_epochs_spent_ + 3
    assert tuned.best_index_ == 3 and tuned.best_estimator_.epochs == 3
    assert tuned.predict(X[:5]).shape == (5,)


def test_gru_promoted_model_is_the_parent_model_continued(digits_sequences, monkeypatch):
    """Three rungs: the rung-1 models are the rung-0 objects, trained on."""
    from skgru import GRUClassifier

    X, y = digits_sequences
    X, y = X[:200], y[:200]
    snaps, fits = {}, []
    finish = _session.SearchSession.finish
    fit = GRUClassifier.fit

    def spy(self, trial, rec, out):
        if out is not None and out["models"] is not None:
            snaps[trial.trial_id] = [
                (id(est), id(est.model_), est.n_iter_, list(est.history_["loss"]),
                 _steps(est)) for est in out["models"]]
        return finish(self, trial, rec, out)

    def spy_fit(self, X, y, **kw):
        before = getattr(self, "n_iter_", 0)
        fit(self, X, y, **kw)
        fits.append((id(self), self.warm_start, self.epochs, before, self.n_iter_))
        return self

    monkeypatch.setattr(_session.SearchSession, "finish", spy)
    monkeypatch.setattr(GRUClassifier, "fit", spy_fit)
    tuned = TunedGRU(GRUClassifier(units=4, batch_size=50, random_state=0),
                     {"learning_rate": [0.003, 0.01, 0.03]}, tuner="asha",
                     max_trials=4, max_epochs=4, cv=2, random_state=0, refit=False,
                     tuner_params={"min_epochs": 1, "reduction_factor": 2}).fit(X, y)
    res = tuned.cv_results_
    assert tuned.n_resources_ == [1, 2, 4]
    child = [i for i, p in enumerate(res["parent_trial_id"]) if p is not None][0]
    parent = res["parent_trial_id"][child]
    assert res["iter"][child] == 1
    steps_per_epoch = int(np.ceil(100 / 50))  # 100 training samples per fold
    for (pid, pmodel, pn, ploss, psteps), (cid, cmodel, cn, closs, csteps) in zip(
            snaps[parent], snaps[res["trial_id"][child]]):
        assert cid == pid and cmodel == pmodel  # the same objects, continued
        assert (pn, cn) == (1, 2) and len(closs) == 2 and closs[0] == ploss[0]
        assert csteps == psteps + steps_per_epoch  # the optimizer went on, not reset
        assert psteps == steps_per_epoch
        # The fold model was fitted twice in all: 1 epoch, then 1 more from epoch 1.
        assert [f[1:] for f in fits if f[0] == cid] == [(False, 1, 0, 1), (True, 1, 1, 2)]


@pytest.mark.slow  # two loky workers import TensorFlow (~20 s)
@pytest.mark.timeout(300)
def test_gru_fused_promotions_on_loky_match_a_sequential_search(digits_sequences):
    """With n_jobs=2 a fused trial's kept folds (one shared network + arrays) travel to
    the driver and to the worker that promotes them; every score equals the sequential
    search's, where the same promotions continue in the driver's process."""
    from skgru import GRUClassifier

    X, y = digits_sequences
    X, y = X[:150], y[:150]
    results = []
    for n_jobs in (1, 2):
        tuned = TunedGRU(GRUClassifier(units=4, batch_size=25, random_state=0),
                         {"learning_rate": [0.003, 0.01, 0.03], "units": [4, 8]}, tuner="asha",
                         max_trials=8, max_epochs=4, cv=3, random_state=0, refit=False, n_jobs=n_jobs,
                         tuner_params={"min_epochs": 1, "reduction_factor": 2}).fit(X, y)
        results.append(tuned.cv_results_)
    seq, par = results
    # the workers finish in another order, so the two searches may promote different
    # configurations; a configuration at a rung trains the same wherever it runs
    by_key = {(str(p), r): i for i, (p, r) in enumerate(zip(seq["params"], seq["n_resources"]))}
    common = [(i, by_key[(str(p), r)]) for i, (p, r) in enumerate(zip(par["params"], par["n_resources"]))
              if (str(p), r) in by_key]
    assert any(par["parent_trial_id"][i] is not None for i, _ in common), "no promotion to compare"
    for i, j in common:
        assert par["epochs_trained"][i] == seq["epochs_trained"][j]
        np.testing.assert_allclose(par["mean_test_score"][i], seq["mean_test_score"][j], atol=1e-6)


# ----------------------------------------------------------------------------
# Dask
# ----------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_dask_streams_asha(xy, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    import dask

    from skgru.tuning import _dask

    X, y = xy
    events = []
    submit, done = _dask.DaskTrialExecutor.submit, _dask.DaskTrialExecutor.next_completed

    def spy_submit(self, job, index, _stream=True):
        events.append("submit")
        return submit(self, job, index, _stream)

    def spy_done(self):
        events.append("done")
        return done(self)

    monkeypatch.setattr(_dask.DaskTrialExecutor, "submit", spy_submit)
    monkeypatch.setattr(_dask.DaskTrialExecutor, "next_completed", spy_done)
    with dask.config.set({"distributed.comm.timeouts.connect": "30s"}):
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, local_directory=str(tmp_path), silence_logs=50)
        try:
            with distributed.Client(cluster, set_as_default=False, timeout="60s") as client:
                client.wait_for_workers(2, timeout=120)
                with client.as_current():
                    tuned = _asha(cv=2, max_trials=14, max_epochs=9, n_jobs=2).fit(X, y)
        finally:
            cluster.close(timeout=30)
    assert tuned.parallel_backend_ == "dask"
    res = tuned.cv_results_
    # Streamed: 2 trials out at first, then one new trial after each end.
    assert events[:3] == ["submit", "submit", "done"] and events.count("submit") == _rows(res)
    assert np.all(res["status"] == "COMPLETED")
    assert tuned.n_epochs_spent_ <= tuned.n_epochs_budget_
    ids = list(res["trial_id"])
    promoted = [i for i, p in enumerate(res["parent_trial_id"]) if p is not None]
    assert promoted
    for i in promoted:
        parent = ids.index(res["parent_trial_id"][i])
        assert res["epochs_trained"][i] == 2 * (res["n_resources"][i] - res["n_resources"][parent])
