"""Loss functions to call on a network's outputs: mean squared and cross-entropy error.

These are the costs of chapter 1 and 3 as plain functions of the outputs ``y``
and the targets ``t``, for evaluating a network by hand (the way the
introductory notebooks of the field write them), not for training: the
estimators train on :mod:`sknn.costs`, and these functions agree with those.

Both functions take

- ``y``: the network's outputs for one sample, shape (n_outputs,), or for a
  mini-batch, shape (batch_size, n_outputs);
- ``t``: the targets, either one-hot (or any target vectors) of the same shape
  as ``y``, or integer class labels, a scalar for one sample or shape
  (batch_size,) for a mini-batch; label ``k`` stands for the one-hot vector with
  a 1 at position ``k``.

Both return one float: the error of the single sample, or the mean over the
samples of the mini-batch (eq. 6 and 63 average over the training inputs).
"""

import numpy as np

__all__ = ["cross_entropy_error", "mean_squared_error"]


def _as_batch(y, t):
    """Return (Y, T, is_labels): 2-D outputs and either 2-D targets or 1-D labels."""
    y = np.asarray(y, dtype=float)
    t = np.asarray(t)
    if y.ndim not in (1, 2):
        raise ValueError(
            "y must hold the outputs of one sample, shape (n_outputs,), or of a "
            f"mini-batch, shape (batch_size, n_outputs); got shape {y.shape}."
        )
    if t.shape == y.shape:
        return np.atleast_2d(y), np.atleast_2d(t.astype(float)), False
    if t.shape == y.shape[:-1]:
        if not np.issubdtype(t.dtype, np.integer):
            raise ValueError(
                f"t of shape {t.shape} is read as class labels, which must be "
                f"integers; got dtype {t.dtype}."
            )
        n_outputs = y.shape[-1]
        if t.size and (t.min() < 0 or t.max() >= n_outputs):
            raise ValueError(
                f"class labels in t must lie in [0, {n_outputs - 1}] to index the "
                f"{n_outputs} outputs of y; got labels from {t.min()} to {t.max()}."
            )
        return np.atleast_2d(y), np.atleast_1d(t), True
    raise ValueError(
        f"t must be one-hot targets of y's shape {y.shape} or integer labels of "
        f"shape {y.shape[:-1]}; got shape {t.shape}."
    )


def mean_squared_error(y, t):
    """The quadratic cost 1/2 ||t - y||^2 of chapter 1 (eq. 6), per sample.

    Parameters
    ----------
    y : array-like of shape (n_outputs,) or (batch_size, n_outputs)
        The network's outputs.
    t : array-like of the shape of ``y``, or int labels of shape () or (batch_size,)
        One-hot targets, or the index of the right output of each sample.

    Returns
    -------
    float
        1/2 ||t - y||^2 for one sample; its mean over the rows of a mini-batch,
        the cost that :class:`sknn.costs.QuadraticCost` trains on.

    Examples
    --------
    >>> from sknn.losses import mean_squared_error
    >>> y = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]
    >>> round(mean_squared_error(y, [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]), 4)
    0.0975
    >>> round(mean_squared_error(y, 2), 4)
    0.0975
    """
    Y, T, is_labels = _as_batch(y, t)
    diff = Y.copy()
    if is_labels:
        diff[np.arange(len(T)), T] -= 1.0
    else:
        diff -= T
    return float(0.5 * np.sum(diff * diff) / Y.shape[0])


def cross_entropy_error(y, t, eps=1e-7):
    """The cross-entropy error -sum_j t_j ln(y_j + eps), per sample.

    With one-hot targets and a softmax output layer this is the
    log-likelihood cost -ln a_y that the book pairs with softmax (eq. 80):
    only the output of the right class counts, which is why integer labels
    give the same value as one-hot targets by just picking that output.

    Parameters
    ----------
    y : array-like of shape (n_outputs,) or (batch_size, n_outputs)
        The network's outputs, probabilities in [0, 1].
    t : array-like of the shape of ``y``, or int labels of shape () or (batch_size,)
        One-hot targets, or the index of the right output of each sample.
    eps : float, default=1e-7
        Added inside the logarithm so that an output of exactly 0 gives a
        large finite error instead of infinity. 0 gives the exact cost.

    Returns
    -------
    float
        The error of one sample, or the mean over a mini-batch's rows; with
        ``eps=0`` the cost :class:`sknn.costs.LogLikelihoodCost` trains on.

    Examples
    --------
    >>> from sknn.losses import cross_entropy_error
    >>> y = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]
    >>> round(cross_entropy_error(y, [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]), 4)
    0.5108
    >>> round(cross_entropy_error([y, y], [2, 2]), 4)
    0.5108
    """
    Y, T, is_labels = _as_batch(y, t)
    if is_labels:
        picked = Y[np.arange(len(T)), T]
        return float(-np.sum(np.log(picked + eps)) / Y.shape[0])
    with np.errstate(divide="ignore"):
        logs = np.log(Y + eps)
    # 0 * log(0) is 0 here: an output of 0 where the target is 0 costs nothing.
    terms = np.multiply(T, logs, out=np.zeros_like(Y), where=T != 0)
    return float(-np.sum(terms) / Y.shape[0])
