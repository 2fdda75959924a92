"""Class labels drawn from a known softmax model: the data of the softmax fit tests and benchmark."""
import numpy as np


def simulated(n, d, K, seed):
    """(X, labels): an intercept and d − 1 standard normal columns, and labels 0 … K − 1 drawn with the
    probabilities softmax(XW) for a random W."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, d - 1))])
    W = rng.normal(scale=0.4, size=(d, K))
    eta = X @ W
    p = np.exp(eta - np.logaddexp.reduce(eta, axis=1, keepdims=True))
    return X, (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
