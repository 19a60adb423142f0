"""Weight initializers: how the first weights are drawn (chapter 3, "Weight initialization").

Each initializer is a function ``(n_in, n_out, rng, dtype) -> (weights, biases)``
with weights of shape (n_in, n_out), drawn from the numpy ``Generator`` ``rng``.
"""

import numpy as np


def default_initializer(n_in, n_out, rng, dtype):
    """Weights N(0, 1/n_in), biases N(0, 1): network2.py's ``default_weight_initializer``.

    With n_in inputs the weighted input z then has standard deviation about 1,
    so sigmoid neurons start unsaturated and learn quickly.
    """
    weights = rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)
    biases = rng.standard_normal(n_out)
    return weights.astype(dtype), biases.astype(dtype)


def large_initializer(n_in, n_out, rng, dtype):
    """Weights and biases N(0, 1): network2.py's ``large_weight_initializer``.

    Chapter 1's choice, kept for comparison: z has standard deviation about
    sqrt(n_in), so many sigmoid neurons start saturated and learn slowly.
    """
    weights = rng.standard_normal((n_in, n_out))
    biases = rng.standard_normal(n_out)
    return weights.astype(dtype), biases.astype(dtype)


def he_initializer(n_in, n_out, rng, dtype):
    """Weights N(0, 2/n_in), biases 0 (He et al., 2015): the ReLU counterpart of "default".

    A ReLU zeroes about half its inputs, so doubling the variance keeps the
    scale of the activations from layer to layer.
    """
    weights = rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)
    biases = np.zeros(n_out)
    return weights.astype(dtype), biases.astype(dtype)


INITIALIZERS = {
    "default": default_initializer,
    "large": large_initializer,
    "he": he_initializer,
}
"""Initializers by name, as the ``initializer`` hyperparameter takes them."""
