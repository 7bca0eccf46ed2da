"""Shared test configuration: quiet TensorFlow, small thread pools, tiny data."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYTHONHASHSEED", "0")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def seq_data():
    """60 sequences of 6 steps x 2 features; binary label from the first feature's sum."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 6, 2)).astype("float32")
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    return X, y


@pytest.fixture(scope="session")
def digits_sequences():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X.reshape(-1, 8, 8) / 16.0).astype("float32"), y
