"""Activation functions: the neurons of chapters 1 and 3.

Each activation is a small stateless object with two in-place operations, so
the training loop allocates nothing per mini-batch:

``fn(z, out=...)``
    writes ``a = f(z)`` into ``out`` (which may be ``z`` itself); where numpy
    or scipy has the function as a ufunc, ``fn`` is that ufunc;
``multiply_derivative(a, delta, scratch)``
    multiplies ``delta`` by ``f'(z)`` element-wise, computing ``f'(z)`` from
    the activation ``a = f(z)``. Every hidden activation here has a derivative
    that is a function of its output, which is why the forward pass need not
    keep the weighted inputs ``z``.

``derivative(a)`` returns ``f'(z)`` as a new array; it is the readable
reference the tests check against finite differences.

Strings resolve through :data:`ACTIVATIONS`.
"""

import numpy as np
from scipy.special import expit


class Sigmoid:
    """The sigmoid neuron, sigma(z) = 1 / (1 + exp(-z)) (eq. 3).

    Its derivative is sigma'(z) = sigma(z) (1 - sigma(z)).
    """

    name = "sigmoid"
    fn = staticmethod(expit)

    @staticmethod
    def derivative(a):
        return a * (1.0 - a)

    @staticmethod
    def multiply_derivative(a, delta, scratch):
        np.subtract(1.0, a, out=scratch)
        np.multiply(scratch, a, out=scratch)
        np.multiply(delta, scratch, out=delta)


class Tanh:
    """The hyperbolic tangent neuron, a rescaled sigmoid with outputs in (-1, 1).

    Its derivative is 1 - tanh(z)^2.
    """

    name = "tanh"
    fn = staticmethod(np.tanh)

    @staticmethod
    def derivative(a):
        return 1.0 - a * a

    @staticmethod
    def multiply_derivative(a, delta, scratch):
        np.multiply(a, a, out=scratch)
        np.subtract(1.0, scratch, out=scratch)
        np.multiply(delta, scratch, out=delta)


class ReLU:
    """The rectified linear unit, max(0, z), whose gradient does not saturate.

    Its derivative is 1 where z > 0 and 0 elsewhere (0 is taken at z = 0).
    """

    name = "relu"

    @staticmethod
    def fn(z, out):
        return np.maximum(z, 0.0, out=out)

    @staticmethod
    def derivative(a):
        return (a > 0).astype(a.dtype)

    @staticmethod
    def multiply_derivative(a, delta, scratch):
        np.greater(a, 0.0, out=scratch)
        np.multiply(delta, scratch, out=delta)


class Softmax:
    """The softmax output layer, a_j = exp(z_j) / sum_k exp(z_k) (eq. 78).

    Its outputs are positive and sum to one, so they read as a probability
    distribution over the classes. Only used as an output layer together with
    the log-likelihood cost, whose delta (eq. 84) needs no Jacobian; so
    ``derivative`` is deliberately absent.
    """

    name = "softmax"

    @staticmethod
    def fn(z, out):
        if out is not z:
            np.copyto(out, z)
        out -= out.max(axis=1, keepdims=True)
        np.exp(out, out=out)
        out /= out.sum(axis=1, keepdims=True)
        return out


class Identity:
    """The linear output neuron, a = z, for regression.

    Chapter 3 notes that with linear output neurons the quadratic cost's
    output error is simply a - y: no sigma'(z) factor, so no learning
    slowdown. Only used as an output layer.
    """

    name = "identity"

    @staticmethod
    def fn(z, out):
        if out is not z:
            np.copyto(out, z)
        return out

    @staticmethod
    def derivative(a):
        return np.ones_like(a)


ACTIVATIONS = {cls.name: cls for cls in (Sigmoid, Tanh, ReLU)}
"""Hidden-layer activations by name, as the ``activation`` hyperparameter takes them."""
