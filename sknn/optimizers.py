"""Stochastic gradient descent with optional momentum (chapters 1 and 3).

The backward pass hands the optimizer *steps*, eta times the mini-batch's
mean gradient of the unregularized cost C_0, already computed in place. The
optimizer adds the regularization term and moves the parameters:

* plain SGD (``momentum=0``), eq. 20-21 with the regularizer's term
  (eq. 93 for L2, eq. 97 for L1)::

      w -> w - eta lambda/n dR/dw - step

* momentum (chapter 3, "Momentum-based gradient descent"), with velocities v
  and friction coefficient mu; biases get momentum too, but no penalty::

      v -> mu v - eta lambda/n dR/dw - step
      w -> w + v
"""

import numpy as np


class SGD:
    """Mini-batch gradient descent with an optional momentum coefficient.

    Parameters
    ----------
    regularizer : object
        One of :mod:`sknn.regularizers`, used for the weights only.
    lmbda : float
        The regularization parameter lambda.
    n_samples : float
        The training-set size n that lambda is divided by (eq. 87, 95).
    momentum : float
        The momentum coefficient mu in [0, 1); 0 is plain SGD.
    velocities : tuple (weight_velocities, bias_velocities) or None, default=None
        Velocities to start from (a warm start continues the previous fit's);
        None starts at rest.

    Attributes
    ----------
    weight_velocities, bias_velocities : list of ndarray or None
        The velocities v, created on the first step when ``momentum > 0``.
        They persist between epochs; the estimator keeps copies between
        ``warm_start`` fits and builds a new optimizer for every fit.
    """

    def __init__(self, regularizer, lmbda, n_samples, momentum=0.0, velocities=None):
        if not n_samples > 0:
            raise ValueError(
                f"n_samples, the training-set size lambda is divided by, must be "
                f"positive; got {n_samples}."
            )
        self.regularizer = regularizer
        self.lmbda = lmbda
        self.n_samples = n_samples
        self.momentum = momentum
        self.weight_velocities, self.bias_velocities = velocities or (None, None)

    def velocity_copies(self):
        """Copies of the velocities, or None before the first momentum step."""
        if self.weight_velocities is None:
            return None
        return (
            [v.copy() for v in self.weight_velocities],
            [v.copy() for v in self.bias_velocities],
        )

    def restore_velocities(self, saved):
        """Put back velocities from :meth:`velocity_copies`, in place."""
        if saved is None:
            self.weight_velocities = self.bias_velocities = None
            return
        for current, kept in zip(
            self.weight_velocities + self.bias_velocities, saved[0] + saved[1]
        ):
            np.copyto(current, kept)

    def step(self, weights, biases, weight_steps, bias_steps, learning_rate):
        """Update ``weights`` and ``biases`` in place from one mini-batch's steps."""
        self.bind(weights, biases, weight_steps, bias_steps)(learning_rate)

    def bind(self, weights, biases, weight_steps, bias_steps):
        """Return ``update(learning_rate)``, the update of these arrays, planned once.

        The training loop calls the update after every mini-batch; binding the
        arrays, velocities and scratch space beforehand keeps each call to the
        numpy operations themselves.
        """
        regularize = self.regularizer.subtract_gradient
        lmbda_over_n = self.lmbda / self.n_samples
        if lmbda_over_n == 0:
            regularize = _no_penalty
        scratch = [np.empty_like(w) for w in weights]
        if self.momentum == 0.0:
            layers = list(zip(weights, biases, weight_steps, bias_steps, scratch))

            def update(learning_rate):
                rate = learning_rate * lmbda_over_n
                for w, b, w_step, b_step, w_scratch in layers:
                    regularize(w, rate, w, w_scratch)
                    np.subtract(w, w_step, out=w)
                    np.subtract(b, b_step, out=b)

            return update

        if self.weight_velocities is None:
            self.weight_velocities = [np.zeros_like(w) for w in weights]
            self.bias_velocities = [np.zeros_like(b) for b in biases]
        mu = self.momentum
        layers = list(
            zip(
                weights,
                biases,
                weight_steps,
                bias_steps,
                self.weight_velocities,
                self.bias_velocities,
                scratch,
            )
        )

        def update(learning_rate):
            rate = learning_rate * lmbda_over_n
            for w, b, w_step, b_step, v_w, v_b, w_scratch in layers:
                np.multiply(v_w, mu, out=v_w)
                regularize(w, rate, v_w, w_scratch)
                np.subtract(v_w, w_step, out=v_w)
                np.add(w, v_w, out=w)
                np.multiply(v_b, mu, out=v_b)
                np.subtract(v_b, b_step, out=v_b)
                np.add(b, v_b, out=b)

        return update


def _no_penalty(weights, rate, target, scratch):
    """With lambda = 0 every regularizer's term vanishes; skip its numpy calls."""
