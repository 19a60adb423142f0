"""Training diagnostics: gradient norms, saturated or dead units, weight norms.

Chapter 5 of the book explains why deep networks are hard to train by
measuring, for each layer l, the length of the gradient of the cost with
respect to its biases, ||delta^l||, its "speed of learning": in a deep
sigmoid network the early layers learn far more slowly than the later ones
(the vanishing gradient), because each layer multiplies the error by
sigma'(z) <= 1/4 on its way back (BP2). Saturated units, whose sigma'(z) is
nearly 0, and ReLUs that never fire pass back no gradient at all.

:func:`sknn.plotting.plot_diagnostics` draws them. These monitors record
those quantities in ``history_`` after each epoch,
measured on the same evenly spaced sample of at most :data:`SAMPLE_ROWS`
training rows every epoch, so they stay cheap whatever the data size. Each is
opt-in through the ``monitor`` hyperparameter; with none of them asked for,
nothing here runs. Layers are numbered from 1, the first hidden layer; the
output layer is number ``len(hidden_layer_sizes) + 1``.

``"gradient_norms"``
    ``gradient_norm_<l>``: ||dC_0/db^l||, chapter 5's speed of learning of
    layer l, and ``weight_gradient_norm_<l>``: the Frobenius norm of
    dC_0/dW^l. C_0 is the unregularized cost, averaged over the sample rows
    without sample weights or dropout.
``"unit_saturation"``
    For each hidden layer, with sigmoid or tanh neurons,
    ``saturated_fraction_<l>``: the fraction of its activations on the sample
    rows where f'(z) is below :data:`SATURATION_LEVEL` times its largest
    value f'(0) (``abs(z) > 6.0`` for the sigmoid, ``abs(z) > 3.0`` for tanh); with ReLUs,
    ``dead_fraction_<l>``: the fraction of its units that output 0 on every
    sample row.
``"weight_norms"``
    ``weight_norm_<l>``: the Frobenius norm of W^l.
"""

import numpy as np

__all__ = ["DIAGNOSTICS", "SAMPLE_ROWS", "SATURATION_LEVEL", "sample_rows"]

DIAGNOSTICS = ("gradient_norms", "unit_saturation", "weight_norms")
"""The names of the diagnostic monitors."""

SAMPLE_ROWS = 1000
"""At most this many training rows are used for the gradients and the saturation."""

SATURATION_LEVEL = 0.01
"""A unit is saturated on a row when f'(z) is below this fraction of f'(0)."""


def sample_rows(n_rows):
    """The rows the diagnostics use: every ceil(n / SAMPLE_ROWS)-th row, from row 0.

    Parameters
    ----------
    n_rows : int
        The number of training rows.

    Returns
    -------
    ndarray of int
        The indices of the sampled rows, the same in every epoch.

    Examples
    --------
    >>> from sknn.diagnostics import sample_rows
    >>> sample_rows(2500)[:4]
    array([0, 3, 6, 9])
    """
    return np.arange(0, n_rows, -(-n_rows // SAMPLE_ROWS))


def diagnose(network, X, Y, wanted):
    """Return the diagnostic record entries ``wanted`` asks for.

    Parameters
    ----------
    network : sknn._network.Network
        The network as trained so far.
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        The training inputs.
    Y : ndarray of shape (n_samples, n_outputs)
        The targets the network trains on.
    wanted : set of str
        The monitors asked for; only those in :data:`DIAGNOSTICS` count.

    Returns
    -------
    dict
        Record entries, empty (and computed at no cost) when no diagnostic
        is wanted.
    """
    wanted = set(wanted) & set(DIAGNOSTICS)
    if not wanted:
        return {}
    record = {}
    if "weight_norms" in wanted:
        for layer, w in enumerate(network.weights, start=1):
            record[f"weight_norm_{layer}"] = float(np.linalg.norm(w))
    if wanted & {"gradient_norms", "unit_saturation"}:
        rows = sample_rows(X.shape[0])
        X_sample = X[rows]
        if hasattr(X_sample, "toarray"):
            X_sample = X_sample.toarray()
        X_sample = np.ascontiguousarray(X_sample, dtype=network.dtype)
        if "gradient_norms" in wanted:
            weight_gradients, bias_gradients = network.gradients(X_sample, Y[rows])
            for layer, (dw, db) in enumerate(
                zip(weight_gradients, bias_gradients), start=1
            ):
                record[f"gradient_norm_{layer}"] = float(np.linalg.norm(db))
                record[f"weight_gradient_norm_{layer}"] = float(np.linalg.norm(dw))
        if "unit_saturation" in wanted:
            record.update(_unit_saturation(network, X_sample))
    return record


def _unit_saturation(network, X):
    activation = network.activation
    record = {}
    a = X
    for layer, (w, b) in enumerate(
        zip(network.weights[:-1], network.biases[:-1]), start=1
    ):
        z = a @ w
        z += b
        a = activation.fn(z, out=z)
        if activation.name == "relu":
            record[f"dead_fraction_{layer}"] = float(np.mean(~(a > 0).any(axis=0)))
        else:
            at_zero = activation.fn(np.zeros(1), out=np.zeros(1))
            largest = activation.derivative(at_zero)[0]
            saturated = activation.derivative(a) < SATURATION_LEVEL * largest
            record[f"saturated_fraction_{layer}"] = float(saturated.mean())
    return record
