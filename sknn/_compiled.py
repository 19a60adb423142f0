"""The compiled training loop: when it applies, and how its inputs are prepared.

:mod:`sknn._network`'s numpy loop is the reference. The C extension
``sknn._cepoch`` (built with the package when a C compiler is present) runs
the same steps, mini-batch after mini-batch, without returning to Python: at
the book's batch size of 10 a numpy step is mostly the fixed cost of some
twenty numpy calls, and a compiled loop has none of it.

Both paths consume the estimator's random numbers identically: the epoch's
permutation is drawn in Python, and so are the dropout masks' uniforms, in
the order the numpy loop draws them (batch after batch, hidden layer after
hidden layer). With the same start the two paths therefore reach the same
weights, up to floating-point rounding.

The first layer reads its input either densely or, when most inputs are
zero (MNIST's pixels are about 80% zeros) or ``X`` is a scipy sparse matrix,
through each row's nonzero (index, value) pairs, so its forward product and
its weight step touch only the weights of nonzero inputs. The CSR form of a
dense ``X`` is kept for as long as that ``X`` is alive, so warm-started and
``partial_fit`` calls on the same array do not rebuild it.
"""

import os
import weakref

import numpy as np

from . import _threads
from .activations import ReLU, Sigmoid, Softmax, Tanh
from .costs import CrossEntropyCost, LogLikelihoodCost, QuadraticCost
from .optimizers import SGD
from .regularizers import L1Regularizer, L2Regularizer, NoRegularizer

try:
    from . import _cepoch
except ImportError:  # built without a C compiler: the numpy loop trains
    _cepoch = None
    UNAVAILABLE_REASON = (
        "the C extension sknn._cepoch is not built (it needs a C compiler when "
        "sknn is installed; reinstall with one to get it)"
    )
else:
    UNAVAILABLE_REASON = None

ENGINES = ("numpy", "compiled", "compiled_sparse")
"""The training loops: numpy, compiled with a dense first layer, or a sparse one."""

SPARSE_DENSITY = 0.5
"""Below this fraction of nonzero inputs, the first layer goes by nonzero inputs."""

DENSE_KERNEL_BATCH_FLOPS = 12_000_000
"""Above this many FLOPs in a batch's first-layer product, a dense first layer
trains faster in numpy's BLAS than in the compiled loop.

The compiled loop's advantage is the per-call cost it removes, which matters
less as each product grows, while BLAS's blocked GEMM outruns its register
tiles on large products. Measured on one core, MNIST-sized input: at
[784, 100] the compiled dense loop takes 0.95x numpy's time at batch 30 but
1.45x at batch 100 and 2x at batch 1000; at [784, 30] it stays ahead up to
batch 400 (0.8x) and breaks even at batch 1000. The sparse first layer does
less work than any dense product and stays ahead at every batch size measured.
"""

BLOCK_UNIFORMS = 1 << 20
"""Dropout uniforms drawn per compiled call (bounds their memory, 4-8 MB)."""

_ACTIVATION_CODES = {Sigmoid: 0, Tanh: 1, ReLU: 2}
_REGULARIZER_CODES = {NoRegularizer: 0, L2Regularizer: 1, L1Regularizer: 2}
_OUTPUTS = {
    QuadraticCost: Sigmoid,
    CrossEntropyCost: Sigmoid,
    LogLikelihoodCost: Softmax,
}
"""The costs the kernel knows, with the output layer it computes for each."""


def compiled_loop_available():
    """Whether the C extension was built, so built-in networks train in it."""
    return _cepoch is not None


def _kind(obj):
    return obj if isinstance(obj, type) else type(obj)


def supports(network, optimizer):
    """Whether the compiled loop can run this network: the built-in parts only.

    A user-defined activation, cost, regularizer or optimizer trains with the
    numpy loop, which calls whatever methods they define.
    """
    return (
        _cepoch is not None
        and network.dtype in (np.float32, np.float64)
        and _kind(network.activation) in _ACTIVATION_CODES
        and _kind(network.cost) in _OUTPUTS
        and _kind(network.cost.output_activation) is _OUTPUTS[_kind(network.cost)]
        and type(optimizer) is SGD
        and _kind(optimizer.regularizer) in _REGULARIZER_CODES
        and len(network.weights) <= 64
    )


def choose_engine(network, data, optimizer, requested=None, batch_size=None):
    """The loop to train with: ``requested``, else ``SKNN_ENGINE``, else automatic.

    Automatic: numpy if the compiled loop does not support the network; else
    the sparse first layer for scipy sparse input or a dense ``X`` with fewer
    than :data:`SPARSE_DENSITY` nonzeros; else the dense compiled loop, unless
    a batch's first-layer product exceeds :data:`DENSE_KERNEL_BATCH_FLOPS`,
    where numpy's BLAS is faster. Asking for a compiled loop that cannot run
    raises, so a benchmark never times the wrong one.
    """
    requested = requested or os.environ.get("SKNN_ENGINE") or None
    if requested not in (None, "auto", *ENGINES):
        raise ValueError(
            f"Unknown training engine {requested!r}; use one of {ENGINES} or 'auto'."
        )
    compiled_ok = supports(network, optimizer)
    if requested in (None, "auto"):
        if not compiled_ok:
            return "numpy"
        if _is_sparse(data.X) or data.density(network.dtype) < SPARSE_DENSITY:
            return "compiled_sparse"
        first_product = 2 * network.layer_sizes[0] * network.layer_sizes[1]
        if batch_size and batch_size * first_product > DENSE_KERNEL_BATCH_FLOPS:
            return "numpy"
        return "compiled"
    if requested != "numpy" and not compiled_ok:
        reason = UNAVAILABLE_REASON or (
            "it runs the built-in activations, costs, regularizers and SGD only"
        )
        raise ValueError(f"The {requested!r} engine cannot train this model: {reason}.")
    return requested


def _is_sparse(X):
    return hasattr(X, "tocsr") and not isinstance(X, np.ndarray)


class _Derived:
    """What is derived from X's values: row counts, density, CSR arrays.

    Kept apart from ``X`` so that the cache of :func:`training_input` holds
    no reference to ``X`` and frees this when ``X`` is freed.
    """

    __slots__ = ("csr", "density", "indptr")

    def __init__(self):
        self.indptr = self.density = self.csr = None


class TrainingInput:
    """The training rows ``X`` as the loops read them, prepared once per fit.

    ``X`` as given (the numpy loop gathers its rows), its density, and the
    CSR arrays (indptr int64, indices int32, data) the sparse first layer
    reads, each worked out when first needed.
    """

    def __init__(self, X, derived=None):
        self.X = X
        self.shape = X.shape
        self._derived = derived or _Derived()

    def _kernel_ready(self, dtype):
        X = self.X
        return isinstance(X, np.ndarray) and X.dtype == dtype and X.flags.c_contiguous

    def density(self, dtype):
        """The fraction of nonzero inputs (1 counts as dense)."""
        derived, X = self._derived, self.X
        if derived.density is None:
            if _is_sparse(X):
                derived.density = X.nnz / max(X.shape[0] * X.shape[1], 1)
            elif self._kernel_ready(dtype):
                derived.indptr = np.empty(X.shape[0] + 1, np.int64)
                _cepoch.count_row_nonzeros(X, derived.indptr)
                derived.density = derived.indptr[-1] / max(X.size, 1)
            else:
                derived.density = np.count_nonzero(X) / max(X.size, 1)
        return derived.density

    def csr(self, dtype):
        """(indptr int64, indices int32, data in ``dtype``) of the rows."""
        derived = self._derived
        if derived.csr is None or derived.csr[2].dtype != dtype:
            derived.csr = self._build_csr(dtype)
        return derived.csr

    def _build_csr(self, dtype):
        X = self.X
        if _is_sparse(X):
            csr = X.tocsr()
            if not csr.has_canonical_format:
                csr = csr.copy()
                csr.sum_duplicates()
            indices = np.ascontiguousarray(csr.indices, np.int32)
            if indices.size and (indices.min() < 0 or indices.max() >= X.shape[1]):
                raise ValueError("X's sparse structure holds a column index outside X.")
            return (
                np.ascontiguousarray(csr.indptr, np.int64),
                indices,
                np.ascontiguousarray(csr.data, dtype),
            )
        indptr = self._derived.indptr
        if not self._kernel_ready(dtype):
            X, indptr = np.ascontiguousarray(X, dtype), None
        if indptr is None:
            indptr = np.empty(X.shape[0] + 1, np.int64)
            _cepoch.count_row_nonzeros(X, indptr)
        nnz, spare = indptr[-1], X.shape[1]
        indices = np.empty(nnz + spare, np.int32)  # the fill writes ahead
        data = np.empty(nnz + spare, dtype)
        _cepoch.fill_csr(X, indptr, indices, data)
        return indptr, indices[:nnz], data[:nnz]


_last_input = {"key": None, "ref": None, "derived": None}


def _forget_last_input(dead_ref):
    if _last_input["ref"] is dead_ref:
        _last_input.update(key=None, ref=None, derived=None)


def training_input(X):
    """The :class:`TrainingInput` of ``X``, reusing the previous fit's CSR form.

    Warm-started and ``partial_fit`` calls often pass the same array again;
    rebuilding its CSR form every call would cost more than a sparse epoch.
    The previous fit's form is reused only for the very same array, and only
    after one pass over ``X`` confirms that its nonzeros did not change in
    place since, which costs less than building the form again. Only the
    last array's form is kept, and only while that array lives.
    """
    if _cepoch is None or _is_sparse(X) or not isinstance(X, np.ndarray):
        return TrainingInput(X)
    key = (id(X), X.shape, X.dtype.str, X.__array_interface__["data"][0])
    ref, derived = _last_input["ref"], _last_input["derived"]
    same_array = _last_input["key"] == key and ref is not None and ref() is X
    if same_array and derived.csr is not None and _cepoch.csr_matches(X, *derived.csr):
        return TrainingInput(X, derived)
    derived = _Derived()
    try:
        ref = weakref.ref(X, _forget_last_input)
    except TypeError:
        return TrainingInput(X)
    _last_input.update(key=key, ref=ref, derived=derived)
    return TrainingInput(X, derived)


def train_epoch(
    network,
    X,
    Y,
    optimizer,
    *,
    engine,
    batch_size,
    learning_rate,
    rng,
    dropout,
    sample_weight,
    shuffle,
    row_scales,
    cost_stride,
):
    """One epoch of the numpy loop's mini-batch SGD, in compiled blocks of batches.

    ``X`` is a :class:`TrainingInput`. Returns the mean cost of every
    ``cost_stride``-th mini-batch, measured as the numpy loop measures it.

    ``row_scales(weights, size)`` is the numpy loop's own function for the
    output error's row factors, so both paths scale rows identically.
    """
    dtype = network.dtype
    n_samples = X.shape[0]
    order = rng.permutation(n_samples) if shuffle else np.arange(n_samples)
    order = np.ascontiguousarray(order, np.int64)
    weights_in_order = None if sample_weight is None else sample_weight[order]
    Y = np.ascontiguousarray(Y, dtype)
    if engine == "compiled_sparse":
        indptr, indices, data = X.csr(dtype)
        dense_X = None
    else:
        if _is_sparse(X.X):
            raise ValueError(
                "The 'compiled' engine reads a dense X; for scipy sparse input use "
                "'compiled_sparse' (or leave SKNN_ENGINE unset)."
            )
        indptr = indices = data = None
        dense_X = np.ascontiguousarray(X.X, dtype)
    lmbda_over_n = optimizer.lmbda / optimizer.n_samples
    rate = learning_rate * lmbda_over_n
    regularizer = _REGULARIZER_CODES[_kind(optimizer.regularizer)] if rate else 0
    velocities = (None, None)
    if optimizer.momentum != 0.0:
        if optimizer.weight_velocities is None:
            optimizer.weight_velocities = [np.zeros_like(w) for w in network.weights]
            optimizer.bias_velocities = [np.zeros_like(b) for b in network.biases]
        velocities = (optimizer.weight_velocities, optimizer.bias_velocities)
    lazy = int(
        engine == "compiled_sparse" and regularizer == 1 and velocities[0] is None
    ) and (0.0 < rate < 1.0)
    cost = _kind(network.cost)
    hidden_units = sum(network.layer_sizes[1:-1])
    inputs = indptr[-1] if engine == "compiled_sparse" else X.shape[0] * X.shape[1]
    first_layer_work = int(inputs) * network.layer_sizes[1]
    threads = _threads.kernel_threads(_cepoch.max_threads(), first_layer_work)
    full_batches_end = n_samples - n_samples % batch_size
    sampled_costs = []
    batch_number = 0
    for start, stop, size in (
        (0, full_batches_end, batch_size),
        (full_batches_end, n_samples, n_samples - full_batches_end),
    ):
        if size == 0:
            continue
        scales = row_scales(
            None if weights_in_order is None else weights_in_order[start:stop], size
        )
        per_batch = size * hidden_units if dropout else 0
        block_rows = size * max(1, BLOCK_UNIFORMS // max(per_batch, 1))
        for block_start in range(start, stop, block_rows):
            block_stop = min(stop, block_start + block_rows)
            uniforms = (
                rng.random((block_stop - block_start) // size * per_batch, dtype=dtype)
                if dropout
                else None
            )
            weighted = isinstance(scales, np.ndarray)
            n_batches = (block_stop - block_start) // size
            costs = np.empty(n_batches)
            _cepoch.train_block(
                int(dtype == np.float64),
                _ACTIVATION_CODES[_kind(network.activation)],
                int(cost is LogLikelihoodCost),
                int(cost is QuadraticCost),
                regularizer,
                rate,
                float(optimizer.momentum),
                float(dropout),
                0.0 if weighted else float(scales),
                int(lazy),
                block_start,
                block_stop,
                size,
                dense_X,
                indptr,
                indices,
                data,
                Y,
                order,
                np.ascontiguousarray(
                    scales[block_start - start : block_stop - start].ravel()
                )
                if weighted
                else None,
                uniforms,
                network.weights,
                network.biases,
                *velocities,
                batch_number,
                cost_stride,
                costs,
                threads,
            )
            sampled = np.arange(-batch_number % cost_stride, n_batches, cost_stride)
            sampled_costs.extend(costs[sampled])
            batch_number += n_batches
    return float(np.mean(sampled_costs))
