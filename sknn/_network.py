"""The vectorised core: a feedforward network and its backpropagation.

This module knows nothing of scikit-learn; :class:`sknn.MLPClassifierBook` is a
thin layer over it.

Notation. The book writes column vectors, a^l = sigma(w^l a^{l-1} + b^l)
(eq. 25), with w^l of shape (n_out, n_in). Here the samples of a mini-batch
are the *rows* of a matrix and each weight matrix is stored transposed, with
shape (n_in, n_out), as scikit-learn's ``coefs_`` are::

    A^l = f(A^{l-1} W^l + b^l)

so one matrix product handles the whole mini-batch. The four equations of
backpropagation (chapter 2, BP1-BP4) become, for a batch of m rows::

    Delta^L = dC/dZ^L                      (BP1; the cost's ``delta``)
    Delta^l = (Delta^{l+1} W^{l+1}^T) * f'(Z^l)   (BP2)
    dC/db^l = sum of the rows of Delta^l   (BP3)
    dC/dW^l = A^{l-1}^T Delta^l            (BP4)

Speed. With small mini-batches a training step is dominated by the fixed cost
of each numpy call, not by arithmetic. So every array a step needs is
allocated once per epoch (:class:`_Buffers`), every operation writes into it
in place, and the learning rate and the 1/m of the mean are folded into the
output error once, so that BP3 and BP4 directly produce the steps
eta * dC/db and eta * dC/dW the optimizer applies. The arithmetic is done in
the dtype of the weights (float32 for float32 input).
"""

import numpy as np

PREDICT_CHUNK_ROWS = 4096
"""Rows per chunk when evaluating a large X, so memory stays bounded."""


class _Buffers:
    """The arrays one training step of ``batch_size`` rows writes into."""

    def __init__(self, layer_sizes, batch_size, dtype, dropout):
        shape = [(batch_size, n) for n in layer_sizes]
        self.inputs = np.empty(shape[0], dtype)
        self.activations = [np.empty(s, dtype) for s in shape[1:]]
        self.deltas = [np.empty(s, dtype) for s in shape[1:]]
        self.scratch = [np.empty(s, dtype) for s in shape[1:]]
        hidden = shape[1:-1]
        self.masks = [np.empty(s, dtype) for s in hidden] if dropout else None
        self.dropped = [np.empty(s, dtype) for s in hidden] if dropout else None


class Network:
    """A fully connected feedforward network.

    Parameters
    ----------
    weights : list of ndarray of shape (n_in, n_out)
        One matrix per layer, in scikit-learn's orientation (``coefs_``).
    biases : list of ndarray of shape (n_out,)
        One vector per layer (``intercepts_``).
    activation : object
        The hidden layers' activation, from :mod:`sknn.activations`.
    cost : object
        The cost, from :mod:`sknn.costs`; it fixes the output activation.
    """

    def __init__(self, weights, biases, activation, cost):
        self.weights = weights
        self.biases = biases
        self.activation = activation
        self.cost = cost

    @property
    def layer_sizes(self):
        return [self.weights[0].shape[0]] + [w.shape[1] for w in self.weights]

    @property
    def dtype(self):
        return self.weights[0].dtype

    def _layer_activations(self):
        return [self.activation] * (len(self.weights) - 1) + [
            self.cost.output_activation
        ]

    def feedforward(self, X, chunk_rows=PREDICT_CHUNK_ROWS):
        """Return the output activations a^L for every row of ``X`` (eq. 25).

        Rows are processed ``chunk_rows`` at a time, so the memory used beyond
        the result is bounded whatever the number of rows.
        """
        output = np.empty((X.shape[0], self.layer_sizes[-1]), self.dtype)
        activations = self._layer_activations()
        for start in range(0, X.shape[0], chunk_rows):
            a = X[start : start + chunk_rows]
            for w, b, f in zip(self.weights, self.biases, activations):
                z = a @ w
                z += b
                a = f.fn(z, out=z)
            output[start : start + chunk_rows] = a
        return output

    def mean_cost(self, X, Y, sample_weight=None, chunk_rows=PREDICT_CHUNK_ROWS):
        """The cost C_0 averaged over the rows of ``X`` (weighted), without regularization."""
        per_sample = np.empty(X.shape[0])
        for start in range(0, X.shape[0], chunk_rows):
            rows = slice(start, start + chunk_rows)
            per_sample[rows] = self.cost.fn(self.feedforward(X[rows]), Y[rows])
        return float(np.average(per_sample, weights=sample_weight))

    def gradients(self, X, Y, sample_weight=None):
        """Return the mean gradients (dC_0/dW, dC_0/db) over the rows of ``X``.

        Runs the same in-place backward pass that training uses, with a
        learning rate of 1, so what the tests check against finite differences
        is exactly what trains. With ``sample_weight`` the mean is weighted.
        """
        buffers = _Buffers(self.layer_sizes, X.shape[0], self.dtype, dropout=False)
        weight_steps = [np.empty_like(w) for w in self.weights]
        bias_steps = [np.empty_like(b) for b in self.biases]
        row_scale = _row_scale(X.shape[0], sample_weight, 1.0, self.dtype)
        np.copyto(buffers.inputs, X)
        self._forward(buffers, dropout=0.0, rng=None)
        self._backward(buffers, Y, row_scale, weight_steps, bias_steps)
        return weight_steps, bias_steps

    def train_epoch(
        self,
        X,
        Y,
        optimizer,
        *,
        batch_size,
        learning_rate,
        rng,
        dropout=0.0,
        sample_weight=None,
        shuffle=True,
    ):
        """Run one epoch of mini-batch SGD over ``X`` and one-hot targets ``Y``.

        The rows are shuffled (once per epoch, by index, so ``X`` is never
        copied whole), cut into mini-batches of ``batch_size`` (the last one
        may be smaller), and each batch makes one step of ``optimizer``.
        """
        n_samples = X.shape[0]
        order = rng.permutation(n_samples) if shuffle else np.arange(n_samples)
        targets = np.take(Y, order, axis=0)
        weights = None if sample_weight is None else sample_weight[order]
        buffers = _Buffers(self.layer_sizes, batch_size, self.dtype, dropout > 0)
        weight_steps = [np.empty_like(w) for w in self.weights]
        bias_steps = [np.empty_like(b) for b in self.biases]
        for start in range(0, n_samples, batch_size):
            stop = min(start + batch_size, n_samples)
            if stop - start != buffers.inputs.shape[0]:
                buffers = _Buffers(
                    self.layer_sizes, stop - start, self.dtype, dropout > 0
                )
            batch_weights = None if weights is None else weights[start:stop]
            row_scale = _row_scale(
                stop - start, batch_weights, learning_rate, self.dtype
            )
            np.take(X, order[start:stop], axis=0, out=buffers.inputs)
            self._forward(buffers, dropout, rng)
            self._backward(
                buffers, targets[start:stop], row_scale, weight_steps, bias_steps
            )
            optimizer.step(
                self.weights, self.biases, weight_steps, bias_steps, learning_rate
            )

    def _forward(self, buffers, dropout, rng):
        """Feed ``buffers.inputs`` forward, keeping each layer's activation.

        Inverted dropout: each hidden unit is kept with probability 1 - p and
        its output scaled by 1 / (1 - p), so the expected input to the next
        layer is unchanged and prediction needs no rescaling.
        """
        a = buffers.inputs
        n_layers = len(self.weights)
        for layer, (w, b, f) in enumerate(
            zip(self.weights, self.biases, self._layer_activations())
        ):
            z = buffers.activations[layer]
            np.dot(a, w, out=z)
            np.add(z, b, out=z)
            a = f.fn(z, out=z)
            if dropout > 0 and layer < n_layers - 1:
                mask = buffers.masks[layer]
                rng.random(out=mask, dtype=mask.dtype)
                np.greater_equal(mask, dropout, out=mask)
                np.multiply(mask, 1.0 / (1.0 - dropout), out=mask)
                a = np.multiply(a, mask, out=buffers.dropped[layer])

    def _backward(self, buffers, targets, row_scale, weight_steps, bias_steps):
        """Backpropagate (BP1-BP4), writing eta * dC/dW and eta * dC/db into the steps.

        ``row_scale`` (a scalar or a column) is eta / m, or eta s_x / sum(s)
        with sample weights s; multiplying it into the output error once makes
        every later product a step of the mean gradient.
        """
        delta = buffers.deltas[-1]
        self.cost.delta(buffers.activations[-1], targets, delta, buffers.scratch[-1])
        np.multiply(delta, row_scale, out=delta)
        for layer in range(len(self.weights) - 1, -1, -1):
            if layer == 0:
                a_prev = buffers.inputs
            elif buffers.dropped is not None:
                a_prev = buffers.dropped[layer - 1]
            else:
                a_prev = buffers.activations[layer - 1]
            np.dot(a_prev.T, delta, out=weight_steps[layer])
            np.add.reduce(delta, axis=0, out=bias_steps[layer])
            if layer == 0:
                break
            delta_prev = buffers.deltas[layer - 1]
            np.dot(delta, self.weights[layer].T, out=delta_prev)
            self.activation.multiply_derivative(
                buffers.activations[layer - 1], delta_prev, buffers.scratch[layer - 1]
            )
            if buffers.masks is not None:
                np.multiply(delta_prev, buffers.masks[layer - 1], out=delta_prev)
            delta = delta_prev


def _row_scale(n_rows, sample_weight, learning_rate, dtype):
    """The factor each row's output error is multiplied by: eta / m, or eta s_x / sum(s)."""
    if sample_weight is None:
        return dtype.type(learning_rate / n_rows)
    total = sample_weight.sum()
    scale = learning_rate * sample_weight / total if total > 0 else 0 * sample_weight
    return scale.astype(dtype).reshape(-1, 1)
