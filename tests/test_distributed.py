"""Parallel and distributed searches: joblib backends, Dask, GPU helpers.

One real ``distributed.LocalCluster`` (2 worker processes, 1 thread each,
127.0.0.1 only, no dashboard, worker space under a tmp dir) is shared by the
module and always closed.  Every test is bounded with pytest-timeout.
"""

import os
import subprocess
import sys
import time
import types

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

distributed = pytest.importorskip("distributed")
pytest.importorskip("keras_tuner")
pytest.importorskip("scipy")

# Under pytest-xdist the whole module runs on one worker, in file order: its tests share
# one cluster, and a test that kills a Dask worker must not be followed by another test's
# wait for two workers on a cluster whose other tests went elsewhere (worksteal split the
# module and four later tests timed out waiting for a worker, 2026-12-03).
pytestmark = pytest.mark.xdist_group("dask-cluster")

import cloudpickle  # noqa: E402
import dask  # noqa: E402
import joblib  # noqa: E402
from scipy.stats import loguniform  # noqa: E402
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV  # noqa: E402

from skgru.tuning import _dask as _parallel  # noqa: E402
from skgru.parallel import active_dask_client, configure_worker_gpu  # noqa: E402

# Workers unpickle the estimators defined here: ship them by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

N_WORKERS = 2
GRID = {"units": [4, 8], "learning_rate": [0.01, 0.003]}


def _gru(**kw):
    from skgru import GRUClassifier

    kw.setdefault("random_state", 0)
    return GRUClassifier(units=4, epochs=2, batch_size=16, **kw)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """A 2-process LocalCluster on loopback; a worker that dies twice on the
    same task marks it failed (allowed-failures=1) instead of 3 more kills."""
    space = tmp_path_factory.mktemp("dask-worker-space")
    # worker-saturation 1.0: a worker holds only the task it runs, so a
    # killed worker takes no queued bystander down with it.
    with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                          "distributed.scheduler.worker-saturation": 1.0,
                          "distributed.comm.timeouts.connect": "30s"}):
        cluster = distributed.LocalCluster(
            n_workers=N_WORKERS, threads_per_worker=1, processes=True,
            host="127.0.0.1", dashboard_address=None, local_directory=str(space),
            silence_logs=50)
        try:
            cl = distributed.Client(cluster, set_as_default=False, timeout="60s")
            try:
                cl.wait_for_workers(N_WORKERS, timeout=120)
                yield cl
            finally:
                cl.close(timeout=30)
        finally:
            cluster.close(timeout=30)


def _ready(client):
    """Wait for both workers (a test may have killed one)."""
    client.wait_for_workers(N_WORKERS, timeout=120)
    return client


def _split_scores(res, n_splits):
    return np.array([res[f"split{k}_test_score"] for k in range(n_splits)])


# ----------------------------------------------------------------------------
# GridSearchCV / RandomizedSearchCV under joblib backends
# ----------------------------------------------------------------------------
@pytest.mark.timeout(240)
def test_sklearn_searches_on_dask_match_sequential(client, seq_data):
    X, y = seq_data
    _ready(client)
    kw = dict(cv=2, scoring="neg_log_loss", refit=False)
    seq_g = GridSearchCV(_gru(), GRID, **kw).fit(X, y)
    rnd = dict(param_distributions={"units": [4, 8],
                                    "learning_rate": loguniform(1e-3, 1e-2)},
               n_iter=3, random_state=0, **kw)
    seq_r = RandomizedSearchCV(_gru(), **rnd).fit(X, y)
    with joblib.parallel_config(backend="dask", client=client):
        dsk_g = GridSearchCV(_gru(), GRID, **kw).fit(X, y)
        dsk_r = RandomizedSearchCV(_gru(), **rnd).fit(X, y)
    # Exact equality: same seeds, same float operations, other processes.
    np.testing.assert_array_equal(_split_scores(seq_g.cv_results_, 2),
                                  _split_scores(dsk_g.cv_results_, 2))
    assert seq_r.cv_results_["params"] == dsk_r.cv_results_["params"]
    np.testing.assert_array_equal(_split_scores(seq_r.cv_results_, 2),
                                  _split_scores(dsk_r.cv_results_, 2))


@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_sklearn_grid_search_loky_and_threading_match_sequential(backend, seq_data):
    X, y = seq_data
    kw = dict(cv=2, scoring="neg_log_loss", refit=False)
    seq = GridSearchCV(_gru(), GRID, **kw).fit(X, y)
    with joblib.parallel_config(backend=backend, n_jobs=2):
        par = GridSearchCV(_gru(), GRID, **kw).fit(X, y)
    np.testing.assert_array_equal(_split_scores(seq.cv_results_, 2),
                                  _split_scores(par.cv_results_, 2))


# ----------------------------------------------------------------------------
# TunedGRU on Dask
# ----------------------------------------------------------------------------
def _tuned(tuner, **kw):
    from skgru import TunedGRU

    space = {"units": [4, 8], "learning_rate": [0.01, 0.003]} if tuner == "grid" else \
        {"units": [4, 8], "learning_rate": loguniform(1e-3, 1e-2)}
    est = _gru(random_state=None)  # TunedGRU seeds each trial
    kw.setdefault("max_trials", None if tuner == "grid" else 4)
    return TunedGRU(est, space, tuner=tuner, scoring="neg_log_loss", random_state=0,
                    refit=False, **kw)


def _same_search(a, b):
    ra, rb = a.cv_results_, b.cv_results_
    assert ra["params"] == rb["params"]
    assert list(ra["status"]) == list(rb["status"])
    np.testing.assert_array_equal(ra["mean_test_score"], rb["mean_test_score"])
    np.testing.assert_array_equal(_split_scores(ra, a.n_splits_),
                                  _split_scores(rb, b.n_splits_))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("tuner", ["random", "grid"])
def test_tuned_gru_on_dask_matches_sequential(tuner, client, seq_data):
    X, y = seq_data
    _ready(client)
    seq = _tuned(tuner).fit(X, y)
    assert seq.parallel_backend_ == "sequential"
    if tuner == "random":  # rule 2: joblib's dask backend, n_jobs=None
        with joblib.parallel_config(backend="dask", client=client):
            dsk = _tuned(tuner, n_jobs=None).fit(X, y)
    else:  # rule 3: a current Client and n_jobs > 1
        with client.as_current():
            dsk = _tuned(tuner, n_jobs=2, cv=2).fit(X, y)
        seq = _tuned(tuner, cv=2).fit(X, y)
    assert dsk.parallel_backend_ == "dask"
    assert np.all(dsk.cv_results_["status"] == "COMPLETED"), dsk.cv_results_["error"]
    _same_search(seq, dsk)
    # The scattered data and the trial futures are released afterwards
    # (releases reach the scheduler asynchronously: poll briefly).
    for _ in range(100):
        left = [k for k in client.who_has() if "skgru-trial" in str(k)]
        if not left:
            break
        time.sleep(0.1)
    assert not left


class DieInWorker(ClassifierMixin, BaseEstimator):
    """Fast estimator whose ``fit`` kills its Dask worker process when
    ``c == die_at``: the first time only (``mode="once"``, a marker file in
    ``marker_dir`` remembers it) or every time (``mode="always"``)."""

    def __init__(self, c=1.0, die_at=None, mode="once", marker_dir=None,
                 random_state=None):
        self.c = c
        self.die_at = die_at
        self.mode = mode
        self.marker_dir = marker_dir
        self.random_state = random_state

    def fit(self, X, y):
        if self.die_at is not None and self.c == self.die_at:
            try:
                distributed.get_worker()
                in_worker = True
            except ValueError:
                in_worker = False
            marker = os.path.join(self.marker_dir, f"died-{self.c}")
            if in_worker and (self.mode == "always" or not os.path.exists(marker)):
                with open(marker, "a") as fh:
                    fh.write("x")
                os._exit(1)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y):
        return float(1.0 / (1.0 + abs(self.c - 2.0)))


@pytest.mark.timeout(240)
def test_worker_killed_mid_search_is_survived(client, tmp_path, small_xy):
    """A trial whose worker dies once is rescheduled and completes; a trial
    that kills every worker it runs on is recorded FAILED; the search ends."""
    from skgru import TunedGRU

    X, y = small_xy
    space = {"c": [1.0, 2.0, 3.0, 4.0]}
    kw = dict(tuner="grid", max_trials=None, n_jobs=2, random_state=0, refit=False)

    _ready(client)
    with client.as_current():
        once = TunedGRU(DieInWorker(die_at=1.0, mode="once", marker_dir=str(tmp_path)),
                        space, **kw).fit(X, y)
    res = once.cv_results_
    assert list(res["status"]) == ["COMPLETED"] * 4, res["error"]
    assert once.best_params_["c"] == 2.0
    with open(tmp_path / "died-1.0") as fh:
        assert fh.read() == "x"  # it did die, once

    _ready(client)
    with client.as_current():
        always = TunedGRU(DieInWorker(die_at=4.0, mode="always",
                                      marker_dir=str(tmp_path)),
                          space, **kw).fit(X, y)
    res = always.cv_results_
    status = dict(zip([p["c"] for p in res["params"]], res["status"]))
    assert status == {1.0: "COMPLETED", 2.0: "COMPLETED", 3.0: "COMPLETED",
                      4.0: "FAILED"}, res["error"]
    assert "KilledWorker" in res["error"][list(status).index(4.0)]
    with open(tmp_path / "died-4.0") as fh:
        assert fh.read() == "xx"  # allowed-failures=1: tried on 2 workers
    assert always.best_params_["c"] == 2.0


@pytest.fixture
def small_xy():
    rng = np.random.RandomState(0)
    return rng.normal(size=(40, 3)), np.arange(40) % 2


@pytest.mark.timeout(120)
def test_bayesian_on_dask_uses_batches_and_matches_loky_semantics(client, small_xy):
    """Order-dependent oracles get synchronous batches on Dask: the same
    trials as a batched (n_jobs=2) run anywhere else."""
    from sklearn.linear_model import LogisticRegression

    from skgru import TunedGRU

    X, y = small_xy
    _ready(client)
    kw = dict(tuner="bayesian", max_trials=5, random_state=0, refit=False,
              tuner_params={"num_initial_points": 2})
    space = {"C": loguniform(1e-3, 1e2)}
    with client.as_current():
        dsk = TunedGRU(LogisticRegression(), space, n_jobs=2, **kw).fit(X, y)
    assert dsk.parallel_backend_ == "dask"
    # Same batching without a cluster (in-process, batches of 2 via loky).
    loc = TunedGRU(LogisticRegression(), space, n_jobs=2, **kw).fit(X, y)
    assert loc.parallel_backend_ == "loky"
    _same_search(dsk, loc)


@pytest.mark.timeout(120)
def test_progress_bar_on_dask(client, small_xy, capsys):
    """Streaming (grid) and batched (bayesian) Dask runs move the bar per trial."""
    from sklearn.linear_model import LogisticRegression

    from skgru import TunedGRU

    X, y = small_xy
    _ready(client)
    with client.as_current():
        TunedGRU(LogisticRegression(), {"C": [0.01, 0.1, 1.0, 10.0]}, tuner="grid",
                 max_trials=4, n_jobs=2, refit=False, verbose=1).fit(X, y)
        err = capsys.readouterr().err
        assert "4/4" in err and "best score=" in err and "failed=0" in err
        TunedGRU(LogisticRegression(), {"C": loguniform(1e-3, 1e2)}, tuner="bayesian",
                 max_trials=4, n_jobs=2, refit=False, verbose=1, random_state=0,
                 tuner_params={"num_initial_points": 2}).fit(X, y)
        assert "4/4" in capsys.readouterr().err


def test_timeout_on_dask_starts_no_more_trials(client, small_xy):
    from sklearn.linear_model import LogisticRegression

    from skgru import TunedGRU

    X, y = small_xy
    _ready(client)
    with client.as_current():
        tuned = TunedGRU(LogisticRegression(), {"C": [0.01, 0.1, 1.0, 10.0]}, tuner="grid",
                         max_trials=4, n_jobs=2, timeout=1e-6).fit(X, y)
    assert tuned.parallel_backend_ == "dask"
    assert tuned.n_trials_ == 1 and tuned.timed_out_ and hasattr(tuned, "best_estimator_")


class EpochsEstimator(ClassifierMixin, BaseEstimator):
    """Fast stand-in with an ``epochs`` budget and ``warm_start`` (Hyperband)."""

    def __init__(self, epochs=1, lr=0.1, warm_start=False, random_state=None):
        self.epochs = epochs
        self.lr = lr
        self.warm_start = warm_start
        self.random_state = random_state

    def fit(self, X, y):
        done = getattr(self, "total_", 0) if self.warm_start else 0
        self.total_ = done + self.epochs
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y):
        return float(1.0 - (self.lr - 0.3) ** 2 - 1.0 / (1 + self.total_))


@pytest.mark.timeout(120)
def test_hyperband_on_dask_continues_models(client, small_xy):
    """Promoted trials continue their parents' models, which travel back and
    forth between the driver and the workers."""
    from skgru import TunedGRU

    X, y = small_xy
    _ready(client)
    kw = dict(tuner="hyperband", max_epochs=4, hyperband_factor=2, max_trials=None,
              random_state=0, n_jobs=2, refit=False)
    space = {"lr": loguniform(0.05, 0.6)}
    with client.as_current():
        a = TunedGRU(EpochsEstimator(), space, **kw).fit(X, y)
        b = TunedGRU(EpochsEstimator(), space, **kw).fit(X, y)
    assert a.parallel_backend_ == "dask"
    res = a.cv_results_
    assert np.all(res["status"] == "COMPLETED"), res["error"]
    cont = [i for i, p in enumerate(res["parent_trial_id"])
            if p is not None and res["epochs_trained"][i] < res["budget"][i]]
    assert cont, "no trial continued its parent's model"
    for i in cont:  # trained on top of the parent: total epochs == budget
        lr, budget = res["params"][i]["lr"], int(res["budget"][i])
        np.testing.assert_allclose(res["mean_test_score"][i],
                                   1.0 - (lr - 0.3) ** 2 - 1.0 / (1 + budget))
    _same_search(a, b)


# ----------------------------------------------------------------------------
# detection rule
# ----------------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_detection_rule(client):
    assert active_dask_client(2) is None  # no current client in this process
    with joblib.parallel_config(backend="dask", client=client):
        assert active_dask_client(None) is client
        assert active_dask_client(-1) is client
        assert active_dask_client(1) is None  # n_jobs=1: always sequential
    with client.as_current():
        assert active_dask_client(2) is client
        assert active_dask_client(-1) is client
        assert active_dask_client(None) is None  # None means 1 outside a dask backend
        assert active_dask_client(1) is None
    with joblib.parallel_config(backend="loky", n_jobs=2):
        assert active_dask_client(2) is None


@pytest.mark.timeout(120)
def test_skgru_imports_and_searches_without_dask():
    code = (
        "import sys\n"
        "sys.modules['dask'] = None; sys.modules['distributed'] = None\n"
        "import skgru, skgru.parallel as p\n"
        "from skgru import TunedGRU\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "import numpy as np\n"
        "assert p.active_dask_client(2) is None\n"
        "X = np.random.RandomState(0).normal(size=(30, 3)); y = np.arange(30) % 2\n"
        "t = TunedGRU(LogisticRegression(), {'C': [0.1, 1.0]}, tuner='grid',\n"
        "             max_trials=None, random_state=0).fit(X, y)\n"
        "assert t.parallel_backend_ == 'sequential'\n"
        "print('ok')\n")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=110, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")


# ----------------------------------------------------------------------------
# GPU helpers (no GPU here: environment variables and a fake TensorFlow)
# ----------------------------------------------------------------------------
class _FakeConfig:
    def __init__(self, gpus, fail=()):
        self.gpus, self.fail, self.grown = gpus, set(fail), []
        self.experimental = types.SimpleNamespace(set_memory_growth=self._grow)

    def list_physical_devices(self, kind):
        assert kind == "GPU"
        return self.gpus

    def _grow(self, dev, flag):
        if dev.name in self.fail:
            raise RuntimeError("Physical devices cannot be modified after being initialized")
        self.grown.append((dev.name, flag))


def _fake_tf(names, fail=()):
    gpus = [types.SimpleNamespace(name=n) for n in names]
    return types.SimpleNamespace(config=_FakeConfig(gpus, fail))


@pytest.fixture
def clean_env(monkeypatch):
    for var in ("CUDA_VISIBLE_DEVICES", "TF_FORCE_GPU_ALLOW_GROWTH",
                "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(_parallel, "_tf_context_initialized", lambda tf: False)
    return monkeypatch


def test_configure_worker_gpu_pins_one_device_per_worker(clean_env):
    tf = _fake_tf(["/physical_device:GPU:0"])
    rep = configure_worker_gpu(worker_index=3, devices="0,1", tf_module=tf)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "1"  # 3 % 2
    assert rep["cuda_visible_devices"] == "1"
    assert os.environ["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
    assert tf.config.grown == [("/physical_device:GPU:0", True)]
    # A count, and a list of UUIDs.
    assert configure_worker_gpu(2, devices=4, tf_module=tf)["cuda_visible_devices"] == "2"
    uuids = ["GPU-aaa", "GPU-bbb"]
    assert configure_worker_gpu(0, devices=uuids, tf_module=tf)[
        "cuda_visible_devices"] == "GPU-aaa"


def test_configure_worker_gpu_uses_inherited_device_list(clean_env):
    clean_env.setenv("CUDA_VISIBLE_DEVICES", "4,5,6")
    tf = _fake_tf([])
    assert configure_worker_gpu(worker_index=1, tf_module=tf)["cuda_visible_devices"] == "5"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "5"
    # A single inherited device (dask-cuda already pinned us): left alone.
    assert configure_worker_gpu(worker_index=7, tf_module=tf)["cuda_visible_devices"] is None
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "5"
    # No index: no pinning, memory growth only.
    clean_env.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    rep = configure_worker_gpu(tf_module=tf)
    assert rep["cuda_visible_devices"] is None and os.environ["CUDA_VISIBLE_DEVICES"] == "0,1"


def test_configure_worker_gpu_guards_initialised_tensorflow(clean_env):
    tf = _fake_tf(["GPU:0", "GPU:1"], fail={"GPU:1"})
    clean_env.setattr(_parallel, "_tf_context_initialized", lambda tf: True)
    with pytest.warns(RuntimeWarning) as rec:
        rep = configure_worker_gpu(worker_index=0, devices="1,0", tf_module=tf)
    assert tf.config.grown == [("GPU:0", True)]
    assert rep["memory_growth"] == ["GPU:0"]
    assert len(rep["warnings"]) == 2  # pinning too late + GPU:1 initialised
    assert any("already initialised" in str(w.message) for w in rec)
    rep = configure_worker_gpu(worker_index=None, memory_growth=False, tf_module=tf)
    assert rep == {"cuda_visible_devices": None, "memory_growth": [], "warnings": []}


def test_worker_index_from_names():
    w = types.SimpleNamespace
    assert _parallel._worker_index(w(name=0)) == 0
    assert _parallel._worker_index(w(name="3")) == 3
    assert _parallel._worker_index(w(name="gpu-node-7")) == 7
    assert _parallel._worker_index(w(name="tcp://10.0.0.1:4000")) is None
    assert _parallel._worker_index(w(name=None)) is None


def test_worker_plugin_setup_without_cluster(clean_env):
    plugin = _parallel.SkgruWorkerPlugin(devices="0,1", tf_threads=1)
    clean_env.setattr(_parallel, "_tf_module", lambda: None)
    plugin.setup(types.SimpleNamespace(name=1))
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "1"
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "1"
    assert plugin.report_["cuda_visible_devices"] == "1"
    from distributed.diagnostics.plugin import WorkerPlugin

    assert isinstance(plugin, WorkerPlugin)
    assert _parallel.SkgruWorkerPlugin is type(plugin)


@pytest.mark.timeout(120)
def test_worker_plugin_on_local_cluster(client):
    """Registered on the cluster, the plugin pins worker i to device i."""
    _ready(client)
    plugin = _parallel.SkgruWorkerPlugin(devices="0,1")
    client.register_plugin(plugin)
    try:
        env = client.run(lambda: (os.environ.get("CUDA_VISIBLE_DEVICES"),
                                  os.environ.get("TF_FORCE_GPU_ALLOW_GROWTH")))
        names = {a: w["name"] for a, w in client.scheduler_info(n_workers=-1)["workers"].items()}
        for addr, (dev, growth) in env.items():
            assert dev == str(int(names[addr]) % 2)
            assert growth == "true"
    finally:
        client.unregister_worker_plugin(plugin.name)
        client.run(lambda: [os.environ.pop(v, None) for v in
                            ("CUDA_VISIBLE_DEVICES", "TF_FORCE_GPU_ALLOW_GROWTH")])
