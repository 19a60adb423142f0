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
allocated once per epoch (:class:`_TrainingStep`), every operation writes into it
in place, and the learning rate and the 1/m of the mean are folded into the
output error once, so that BP3 and BP4 directly produce the steps
eta * dC/db and eta * dC/dW the optimizer applies. The arithmetic is done in
the dtype of the weights (float32 for float32 input).
"""

import numpy as np

from . import _compiled, _threads

PREDICT_CHUNK_ROWS = 4096
"""Rows per chunk when evaluating a large X, so memory stays bounded."""

COST_SAMPLES_PER_EPOCH = 32
"""About how many mini-batches' costs an epoch averages for its health check."""


class _TrainingStep:
    """One training step for mini-batches of ``batch_size`` rows, planned ahead.

    Everything a step touches is allocated and looked up once, when the plan
    is made: the activation, delta and scratch arrays of every layer, the
    functions each layer applies and the arrays they read and write. A step
    is then only the numpy calls themselves, which matters because at the
    book's batch size of 10 those calls, not the arithmetic, take most of the
    time. The weights are bound by reference, so the optimizer's in-place
    updates are seen by the next step.
    """

    def __init__(self, network, batch_size, dropout):
        dtype = network.dtype
        sizes = network.layer_sizes
        n_layers = len(network.weights)
        self.dropout = dropout
        self.cost = network.cost
        self.inputs = np.empty((batch_size, sizes[0]), dtype)
        self.activations = [np.empty((batch_size, n), dtype) for n in sizes[1:]]
        self.deltas = [np.empty((batch_size, n), dtype) for n in sizes[1:]]
        self.scratch = [np.empty((batch_size, n), dtype) for n in sizes[1:]]
        hidden = sizes[1:-1]
        self.masks = (
            [np.empty((batch_size, n), dtype) for n in hidden] if dropout else None
        )
        self.dropped = (
            [np.empty((batch_size, n), dtype) for n in hidden] if dropout else None
        )
        self.weight_steps = [np.empty_like(w) for w in network.weights]
        self.bias_steps = [np.empty_like(b) for b in network.biases]
        fns = [activation.fn for activation in network._layer_activations()]
        layer_inputs = [self.inputs, *(self.dropped or self.activations[:-1])]
        self.forward_plan = [
            (
                layer_inputs[layer],
                network.weights[layer],
                network.biases[layer],
                self.activations[layer],
                fns[layer],
                self.masks[layer] if dropout and layer < n_layers - 1 else None,
                self.dropped[layer] if dropout and layer < n_layers - 1 else None,
            )
            for layer in range(n_layers)
        ]
        derivative = network.activation.multiply_derivative
        self.backward_plan = [
            (
                layer_inputs[layer],
                self.deltas[layer],
                self.weight_steps[layer],
                self.bias_steps[layer],
            )
            + (
                (
                    network.weights[layer].T,
                    self.deltas[layer - 1],
                    derivative,
                    self.activations[layer - 1],
                    self.scratch[layer - 1],
                    self.masks[layer - 1] if dropout else None,
                )
                if layer > 0
                else (None,) * 6
            )
            for layer in range(n_layers - 1, -1, -1)
        ]

    def forward(self, rng):
        """Feed ``self.inputs`` forward, keeping each layer's activation (eq. 25).

        Inverted dropout: each hidden unit is kept with probability 1 - p and
        its output scaled by 1 / (1 - p), so the expected input to the next
        layer is unchanged and prediction needs no rescaling.
        """
        p = self.dropout
        for a_prev, w, b, a, fn, mask, dropped in self.forward_plan:
            np.dot(a_prev, w, out=a)
            np.add(a, b, out=a)
            fn(a, out=a)
            if mask is not None:
                rng.random(out=mask, dtype=mask.dtype)
                np.greater_equal(mask, p, out=mask)
                np.multiply(mask, 1.0 / (1.0 - p), out=mask)
                np.multiply(a, mask, out=dropped)

    def backward(self, targets, row_scale):
        """Backpropagate (BP1-BP4), writing eta dC/dW and eta dC/db into the steps.

        ``row_scale`` (a scalar or a column) is eta / m, or eta s_x / sum(s)
        with sample weights s; multiplying it into the output error once makes
        every later product a step of the mean gradient.
        """
        output_delta = self.deltas[-1]
        self.cost.delta(self.activations[-1], targets, output_delta, self.scratch[-1])
        np.multiply(output_delta, row_scale, out=output_delta)
        for (
            a_prev,
            delta,
            weight_step,
            bias_step,
            w_transposed,
            delta_prev,
            multiply_derivative,
            a_hidden,
            scratch,
            mask,
        ) in self.backward_plan:
            np.dot(a_prev.T, delta, out=weight_step)
            np.add.reduce(delta, axis=0, out=bias_step)
            if delta_prev is None:
                break
            np.dot(delta, w_transposed, out=delta_prev)
            multiply_derivative(a_hidden, delta_prev, scratch)
            if mask is not None:
                np.multiply(delta_prev, mask, out=delta_prev)


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

        Rows are processed ``chunk_rows`` at a time, and converted to the
        network's dtype chunk by chunk, so the memory used beyond ``X`` and the
        result is bounded whatever the number of rows.
        """
        output = np.empty((X.shape[0], self.layer_sizes[-1]), self.dtype)
        activations = self._layer_activations()
        for start in range(0, X.shape[0], chunk_rows):
            a = X[start : start + chunk_rows].astype(self.dtype, copy=False)
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
        step = _TrainingStep(self, X.shape[0], dropout=0.0)
        np.copyto(step.inputs, X)
        step.forward(rng=None)
        step.backward(Y, _row_scales(sample_weight, 1.0, X.shape[0], self.dtype))
        return step.weight_steps, step.bias_steps

    @staticmethod
    def training_input(X):
        """``X`` prepared for :meth:`train_epoch`, to pass to every epoch of a fit."""
        return _compiled.training_input(X)

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
        engine=None,
    ):
        """Run one epoch of mini-batch SGD over ``X`` and one-hot targets ``Y``.

        The compiled loop of :mod:`sknn._compiled` runs it when it can (every
        built-in activation, cost and regularizer, with SGD) and is the faster
        one (all but large batches of dense input, where numpy's BLAS wins),
        the numpy loop otherwise; both take the same steps from the same
        random numbers.
        ``engine`` ("numpy", "compiled", "compiled_sparse"; default: the
        ``SKNN_ENGINE`` environment variable, else automatic) forces one.
        ``X`` may be the :meth:`training_input` of the rows, which keeps what
        the compiled loop derives from them (their CSR form) across epochs.

        Returns
        -------
        float
            The mean cost C_0 of about :data:`COST_SAMPLES_PER_EPOCH` evenly
            spaced mini-batches, each measured on its forward pass before its
            step (with dropout as trained). It costs little and lets the
            caller notice a diverging run whatever it monitors.
        """
        if isinstance(X, _compiled.TrainingInput):
            data, X = X, X.X
        else:
            data = _compiled.TrainingInput(X)
        engine = _compiled.choose_engine(self, data, optimizer, engine, batch_size)
        options = dict(
            batch_size=batch_size,
            learning_rate=learning_rate,
            rng=rng,
            dropout=dropout,
            sample_weight=sample_weight,
            shuffle=shuffle,
        )
        if engine != "numpy":
            return _compiled.train_epoch(
                self,
                data,
                Y,
                optimizer,
                engine=engine,
                row_scales=lambda weights, size: _row_scales(
                    weights, learning_rate, size, self.dtype
                ),
                cost_stride=_cost_stride(X.shape[0], batch_size),
                **options,
            )
        with _threads.blas_threads(batch_size, self.layer_sizes):
            return self._train_epoch_numpy(X, Y, optimizer, **options)

    def _train_epoch_numpy(
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
        """The reference loop: one epoch of mini-batch SGD in numpy calls.

        The rows are shuffled (once per epoch, by index, so ``X`` is never
        copied whole), cut into mini-batches of ``batch_size`` (the last one
        may be smaller), and each batch makes one step of ``optimizer``.

        Returns the same sampled cost as :meth:`train_epoch`.
        """
        n_samples = X.shape[0]
        order = rng.permutation(n_samples) if shuffle else np.arange(n_samples)
        targets = np.take(Y, order, axis=0)
        weights = None if sample_weight is None else sample_weight[order]
        full_batches_end = n_samples - n_samples % batch_size
        cost_stride = _cost_stride(n_samples, batch_size)
        sampled_costs = []
        batch_number = 0
        for start, stop, size in (
            (0, full_batches_end, batch_size),
            (full_batches_end, n_samples, n_samples - full_batches_end),
        ):
            if size == 0:
                continue
            step = _TrainingStep(self, size, dropout)
            row_scales = _row_scales(
                None if weights is None else weights[start:stop],
                learning_rate,
                size,
                self.dtype,
            )
            weighted = weights is not None
            apply_steps = optimizer.bind(
                self.weights, self.biases, step.weight_steps, step.bias_steps
            )
            inputs, forward, backward = step.inputs, step.forward, step.backward
            output, cost_fn = step.activations[-1], self.cost.fn
            gather_rows = _row_gatherer(X)
            for batch_start in range(start, stop, size):
                batch_end = batch_start + size
                gather_rows(order[batch_start:batch_end], 0, inputs, "clip")
                forward(rng)
                if batch_number % cost_stride == 0:
                    sampled_costs.append(
                        cost_fn(output, targets[batch_start:batch_end]).mean()
                    )
                batch_number += 1
                backward(
                    targets[batch_start:batch_end],
                    row_scales[batch_start - start : batch_end - start]
                    if weighted
                    else row_scales,
                )
                apply_steps(learning_rate)
        return float(np.mean(sampled_costs))


def _row_gatherer(X):
    """``gather(rows, axis, out, mode)``: copy the given rows of X into ``out``.

    For an ndarray that is its bound ``take``, with no wrapper per step. A
    sparse (CSR) X is never densified whole: only the rows of the mini-batch
    are, into the step's input array, so a step computes exactly what it
    computes on the dense X.
    """
    if not hasattr(X, "toarray"):
        return X.take

    def gather(rows, axis, out, mode):
        X[rows].toarray(out=out)

    return gather


def _cost_stride(n_samples, batch_size):
    """Every how many mini-batches an epoch measures the cost it returns."""
    n_batches = -(-n_samples // batch_size)
    return max(1, n_batches // COST_SAMPLES_PER_EPOCH)


def _row_scales(sample_weight, learning_rate, batch_size, dtype):
    """What each row's output error is multiplied by: eta / m, or eta s_x / sum(s).

    Without sample weights this is one scalar. With weights (already in
    epoch order) it is a column holding, for every row, eta times its weight
    over the total weight of its mini-batch.
    """
    if sample_weight is None:
        return dtype.type(learning_rate / batch_size)
    starts = np.arange(0, len(sample_weight), batch_size)
    totals = np.add.reduceat(sample_weight, starts)
    totals = np.repeat(totals, np.diff(np.append(starts, len(sample_weight))))
    scales = np.divide(
        learning_rate * sample_weight,
        totals,
        out=np.zeros_like(sample_weight),
        where=totals > 0,
    )
    return scales.astype(dtype).reshape(-1, 1)
