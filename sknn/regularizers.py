"""Weight regularization: the L2 and L1 terms of chapter 3.

Both penalise the weights only, never the biases, and scale with the
training-set size n as the book writes them:

* L2: C = C_0 + lambda / (2n) sum_w w^2 (eq. 85-87), so the update shrinks each
  weight by the factor 1 - eta lambda / n (eq. 93), "weight decay".
* L1: C = C_0 + lambda / n sum_w ``|w|`` (eq. 95), so the update moves each weight a
  constant eta lambda / n towards zero, w -> w - eta lambda / n sgn(w) (eq. 97).

A regularizer has ``penalty(weights, lmbda, n)`` (the term added to the cost),
``gradient(w)`` (d/dw of the per-weight term, without lambda / n), and
``subtract_gradient(weights, rate, target, scratch)``, the in-place
``target -= rate * gradient(weights)`` the optimizer calls with
``rate = eta * lambda / n``.
"""

import numpy as np


class NoRegularizer:
    """No penalty: plain C_0."""

    name = "none"

    @staticmethod
    def penalty(weights, lmbda, n):
        return 0.0

    @staticmethod
    def gradient(w):
        return np.zeros_like(w)

    @staticmethod
    def subtract_gradient(weights, rate, target, scratch):
        pass


class L2Regularizer:
    """L2 regularization, lambda / (2n) sum w^2 (eq. 85-87): prefers many small weights."""

    name = "l2"

    @staticmethod
    def penalty(weights, lmbda, n):
        return 0.5 * lmbda / n * sum(float(np.vdot(w, w)) for w in weights)

    @staticmethod
    def gradient(w):
        return w.copy()

    @staticmethod
    def subtract_gradient(weights, rate, target, scratch):
        if target is weights:
            np.multiply(weights, 1.0 - rate, out=weights)
        else:
            np.multiply(weights, rate, out=scratch)
            np.subtract(target, scratch, out=target)


class L1Regularizer:
    """L1 regularization, lambda / n sum ``|w|`` (eq. 95): keeps a few large weights.

    ``|w|`` has no derivative at w = 0; like the book, take sgn(0) = 0 (eq. 96-97).
    """

    name = "l1"

    @staticmethod
    def penalty(weights, lmbda, n):
        return lmbda / n * sum(float(np.abs(w).sum()) for w in weights)

    @staticmethod
    def gradient(w):
        return np.sign(w)

    @staticmethod
    def subtract_gradient(weights, rate, target, scratch):
        np.sign(weights, out=scratch)
        np.multiply(scratch, rate, out=scratch)
        np.subtract(target, scratch, out=target)


REGULARIZERS = {cls.name: cls for cls in (L2Regularizer, L1Regularizer, NoRegularizer)}
"""Regularizers by name, as the ``regularizer`` hyperparameter takes them."""
