"""Cost functions of chapters 1 and 3, each paired with its output layer.

A cost decides the output activation the book pairs it with, so that the
output error ``delta = dC/dz`` stays simple and free of the learning slowdown
the chapter warns about:

=====================  ==================  =====================================  ============================
cost                   output activation   cost per sample                        delta
=====================  ==================  =====================================  ============================
``quadratic``          sigmoid             1/2 ||y - a||^2  (eq. 6)               (a - y) sigma'(z)  (eq. 30)
``cross_entropy``      sigmoid             -sum y ln a + (1-y) ln(1-a)  (eq. 63)  a - y  (eq. 66)
``log_likelihood``     softmax             -ln a_y  (eq. 80)                      a - y  (eq. 84)
=====================  ==================  =====================================  ============================

A cost object has an ``output_activation`` and two methods,
``fn(a, y)`` returning the cost of each sample (one value per row) and
``delta(a, y, out, scratch)`` writing the output error into ``out``. A user may
pass any class or instance with the same three members as the ``cost``
hyperparameter.
"""

import numpy as np

from .activations import Identity, Sigmoid, Softmax


def _clipped(a):
    """Keep probabilities away from 0 and 1 so that their logarithms stay finite."""
    eps = np.finfo(a.dtype).eps
    return np.clip(a, eps, 1.0 - eps)


class QuadraticCost:
    """The mean squared error of chapter 1, C_x = 1/2 ||y - a||^2 (eq. 6).

    With sigmoid outputs its gradient carries the factor sigma'(z), which is
    what makes a saturated, badly wrong neuron learn slowly (eq. 55-56).
    """

    name = "quadratic"
    output_activation = Sigmoid

    @staticmethod
    def fn(a, y):
        diff = a - y
        return 0.5 * np.einsum("ij,ij->i", diff, diff)

    @staticmethod
    def delta(a, y, out, scratch):
        np.subtract(a, y, out=out)
        Sigmoid.multiply_derivative(a, out, scratch)


class CrossEntropyCost:
    """The cross-entropy cost for sigmoid outputs (eq. 57, summed over outputs in eq. 63).

    Its output error is a - y (eq. 66): sigma'(z) cancels, so learning is
    fastest when the neuron is most wrong.
    """

    name = "cross_entropy"
    output_activation = Sigmoid

    @staticmethod
    def fn(a, y):
        a = _clipped(a)
        return -np.einsum("ij,ij->i", y, np.log(a)) - np.einsum(
            "ij,ij->i", 1.0 - y, np.log1p(-a)
        )

    @staticmethod
    def delta(a, y, out, scratch):
        np.subtract(a, y, out=out)


class LogLikelihoodCost:
    """The log-likelihood cost for a softmax output layer, C_x = -ln a_y (eq. 80).

    Together with softmax its output error is again a - y (eq. 81-82, 84), and
    the outputs sum to one, so they are the class probabilities directly.
    """

    name = "log_likelihood"
    output_activation = Softmax

    @staticmethod
    def fn(a, y):
        return -np.einsum("ij,ij->i", y, np.log(_clipped(a)))

    @staticmethod
    def delta(a, y, out, scratch):
        np.subtract(a, y, out=out)


class LinearQuadraticCost:
    """The quadratic cost 1/2 ||y - a||^2 (eq. 6) with linear output neurons, for regression.

    With a = z the output error is a - y: the sigma'(z) of eq. 30 is gone, so
    no output saturates and learning does not slow down (chapter 3). Used by
    :class:`sknn.MLPRegressorBook`; it is not a classifier's cost, so it is
    not in :data:`COSTS`.
    """

    name = "quadratic"
    output_activation = Identity
    fn = QuadraticCost.fn

    @staticmethod
    def delta(a, y, out, scratch):
        np.subtract(a, y, out=out)


COSTS = {cls.name: cls for cls in (QuadraticCost, CrossEntropyCost, LogLikelihoodCost)}
"""Costs by name, as the ``cost`` hyperparameter takes them."""
