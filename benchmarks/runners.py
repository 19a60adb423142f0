"""One runner per library: the book's network trained epoch by epoch, one interface.

Every runner trains [784, hidden, 10] with a sigmoid hidden layer, sigmoid
outputs and the cross-entropy cost summed over the outputs and averaged over the
mini-batch (eq. 63), plain mini-batch SGD with eta = 0.5, no momentum and no
regularization, shuffling the training images every epoch.

The interface (:class:`Runner`): the constructor takes the configuration
(``hidden``, ``batch_size``, ``dtype`` and the runner's own options, such as
sknn's ``dropout``); :meth:`~Runner.prepare` receives the arrays and converts
them once, outside the timings; :meth:`~Runner.epoch` trains one epoch, the
timed unit; :meth:`~Runner.predict_proba` gives class scores for the accuracy
and the memory reading. :func:`time_epochs` and :func:`memory_of` drive a runner
in a spawned process (see ``harness.isolated``) and return a ``Timing`` or a
``Memory``; the entry script picks runners by ``key`` from :data:`RUNNERS`.

To add a runner, subclass and register it; most need a few lines. For example a
compiled path of sknn, chosen by an estimator parameter, on sparse input::

    class SknnCompiledSparseRunner(SknnRunner):
        key = "sknn-compiled-sparse"
        label = "sknn MLPClassifierBook, compiled, sparse input"

        def model_options(self):
            return {**super().model_options(), "engine": "compiled"}

        def prepare(self, X, y, X_val, y_val):
            super().prepare(scipy.sparse.csr_array(X), y, X_val, y_val)

    RUNNERS[SknnCompiledSparseRunner.key] = SknnCompiledSparseRunner

``compared = True`` (the default) puts it in the library comparison and the
wide-network table of every run, in each of its ``dtypes``; :meth:`Runner.installed`
leaves it out where its library is missing, and :meth:`Runner.facts` adds lines
to the results page's machine table. The memory table measures the runners
named in the entry script, with their ``memory_options``.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path

import numpy as np
from harness import (
    Memory,
    Timing,
    describe_pool,
    load_arrays,
    measure_memory,
    time_calls,
    usable_cores,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sknn import MLPClassifierBook

N_FEATURES = 784
N_CLASSES = 10
LEARNING_RATE = 0.5
SEED = 0


def one_hot(y):
    """One-hot indicator targets, which give MLPClassifier logistic outputs."""
    return np.eye(N_CLASSES, dtype=np.int8)[y]


class Runner:
    """One library's way of training the book's network, an epoch at a time.

    Parameters
    ----------
    hidden : int
        Neurons in the hidden layer.
    batch_size : int
    dtype : {"float32", "float64"}
        The images are converted to it once, in :meth:`prepare`.
    """

    key = ""
    label = ""
    dtypes = ("float32", "float64")
    compared = True
    epoch_call = "an epoch"
    memory_options = {}
    memory_note = ""

    def __init__(self, *, hidden=30, batch_size=10, dtype="float32"):
        self.hidden = hidden
        self.batch_size = batch_size
        self.dtype = dtype

    @classmethod
    def installed(cls):
        """Whether the library this runner needs can be imported."""
        return True

    @classmethod
    def facts(cls):
        """Lines for the machine table, as (name, value) pairs; run in a spawned process."""
        return []

    @property
    def variant(self):
        """What sets this configuration apart in the report; empty for the plain one."""
        return ""

    def prepare(self, X, y, X_val, y_val):
        """Keep the training data, converted as the runner trains on it."""
        self.X, self.y = X.astype(self.dtype, copy=False), y

    def epoch(self):
        """Train one epoch; this call is what is timed."""
        raise NotImplementedError

    def predict_proba(self, X):
        """Class scores of ``X``, one column per digit."""
        raise NotImplementedError

    def loop_times(self):
        """Seconds of each epoch's training loop alone, if the library reports them."""
        return None


class SknnRunner(Runner):
    """sknn's ``MLPClassifierBook``: an epoch is one ``fit`` with ``warm_start=True``.

    The epoch therefore includes what ``fit`` does around the training loop
    (checking the input, making one-hot targets); :meth:`loop_times` is the loop
    alone, from ``history_``.

    Parameters
    ----------
    dropout, momentum : float
        As MLPClassifierBook takes them.
    monitored : bool
        Record the training cost and the validation accuracy after each
        epoch, with the validation images passed to ``fit``.
    """

    key = "sknn"
    label = "sknn MLPClassifierBook"
    epoch_call = "`fit`"
    memory_options = {"monitored": True}
    memory_note = "monitoring cost and validation accuracy"

    def __init__(self, *, dropout=0.0, momentum=0.0, monitored=False, **config):
        super().__init__(**config)
        self.dropout, self.momentum, self.monitored = dropout, momentum, monitored
        self.model = MLPClassifierBook(**self.model_options())

    def model_options(self):
        """The estimator's parameters; a subclass may add its own."""
        return {
            "hidden_layer_sizes": (self.hidden,),
            "cost": "cross_entropy",
            "regularizer": "none",
            "lmbda": 0.0,
            "learning_rate": LEARNING_RATE,
            "batch_size": self.batch_size,
            "epochs": 1,
            "dropout": self.dropout,
            "momentum": self.momentum,
            "monitor": ("training_cost", "validation_accuracy")
            if self.monitored
            else (),
            "warm_start": True,
            "random_state": SEED,
        }

    @property
    def variant(self):
        parts = [f"dropout={self.dropout}"] if self.dropout else []
        parts += [f"momentum={self.momentum}"] if self.momentum else []
        if self.monitored:
            parts.append('monitor=("training_cost", "validation_accuracy")')
        return ", ".join(parts)

    def prepare(self, X, y, X_val, y_val):
        super().prepare(X, y, X_val, y_val)
        self.validation = (
            {"X_val": X_val.astype(self.dtype), "y_val": y_val}
            if self.monitored
            else {}
        )

    def epoch(self):
        self.model.fit(self.X, self.y, **self.validation)

    def predict_proba(self, X):
        return self.model.predict_proba(X)

    def loop_times(self):
        return [record["time"] for record in self.model.history_]


class SklearnRunner(Runner):
    """scikit-learn's ``MLPClassifier``: an epoch is one ``partial_fit`` call.

    ``fit`` with ``warm_start=True`` and ``max_iter=1`` runs the same loop, but
    on every call also builds a new optimizer, checks for convergence and warns
    (ConvergenceWarning), so ``partial_fit`` is the purer epoch; the two take
    the same time. Either way MLPClassifier computes the loss of every
    mini-batch in its backward pass.

    Parameters
    ----------
    integer_labels : bool
        Fit the digits as labels, for which MLPClassifier uses a softmax output
        layer and the multiclass log loss. By default it fits one-hot indicator
        targets, which give it logistic outputs and the binary log loss summed
        over the outputs: the book's cross-entropy (eq. 63).
    """

    key = "sklearn"
    label = "scikit-learn MLPClassifier"
    epoch_call = "`partial_fit`"

    def __init__(self, *, integer_labels=False, **config):
        super().__init__(**config)
        self.integer_labels = integer_labels
        # A RandomState instance, not an int: MLPClassifier re-seeds from an int
        # on every partial_fit call, so every epoch would visit the samples in
        # the same order.
        self.model = MLPClassifier(
            hidden_layer_sizes=(self.hidden,),
            activation="logistic",
            solver="sgd",
            learning_rate_init=LEARNING_RATE,
            learning_rate="constant",
            momentum=0.0,
            nesterovs_momentum=False,
            alpha=0.0,
            batch_size=self.batch_size,
            max_iter=1,
            shuffle=True,
            tol=0.0,
            n_iter_no_change=10**9,
            early_stopping=False,
            random_state=np.random.RandomState(SEED),
        )

    @property
    def variant(self):
        return "integer labels (softmax output)" if self.integer_labels else ""

    def prepare(self, X, y, X_val, y_val):
        super().prepare(X, y, X_val, y_val)
        self.targets = y if self.integer_labels else one_hot(y)

    def epoch(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.partial_fit(self.X, self.targets, classes=np.arange(N_CLASSES))

    def predict_proba(self, X):
        return self.model.predict_proba(X)


class TorchRunner(Runner):
    """The same network in PyTorch, one thread per core.

    ``nn.Sequential(Linear, Sigmoid, Linear)``, the cross-entropy of sigmoid
    outputs on one-hot targets summed over the outputs and averaged over the
    mini-batch (eq. 63, with ``binary_cross_entropy_with_logits``),
    ``torch.optim.SGD`` without momentum, and mini-batches cut from a new
    ``randperm`` each epoch.
    """

    key = "torch"
    label = "PyTorch"
    dtypes = ("float32",)

    def __init__(self, **config):
        import torch
        from torch import nn

        super().__init__(**config)
        torch.set_num_threads(usable_cores())
        torch.manual_seed(SEED)
        self.torch = torch
        self.model = nn.Sequential(
            nn.Linear(N_FEATURES, self.hidden),
            nn.Sigmoid(),
            nn.Linear(self.hidden, N_CLASSES),
        ).to(getattr(torch, self.dtype))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LEARNING_RATE)

    @classmethod
    def installed(cls):
        return importlib.util.find_spec("torch") is not None

    @classmethod
    def facts(cls):
        import threadpoolctl
        import torch

        torch.set_num_threads(usable_cores())
        backends = [
            name
            for name, available in (
                ("MKL", torch.backends.mkl.is_available()),
                ("OpenMP", torch.backends.openmp.is_available()),
            )
            if available
        ]
        facts = [
            (
                "PyTorch threads",
                f"{torch.get_num_threads()} intra-op threads ({', '.join(backends)})",
            )
        ]
        for pool in threadpoolctl.threadpool_info():
            if "torch" in Path(pool["filepath"]).parts:
                facts.append(
                    (f"PyTorch {pool['user_api'].upper()} pool", describe_pool(pool))
                )
        return facts

    def prepare(self, X, y, X_val, y_val):
        self.inputs = self.torch.from_numpy(X.astype(self.dtype, copy=False))
        self.targets = self.torch.from_numpy(one_hot(y).astype(self.dtype))

    def epoch(self):
        from torch.nn.functional import binary_cross_entropy_with_logits

        n_samples = len(self.inputs)
        order = self.torch.randperm(n_samples)
        for start in range(0, n_samples, self.batch_size):
            rows = order[start : start + self.batch_size]
            self.optimizer.zero_grad()
            cost = binary_cross_entropy_with_logits(
                self.model(self.inputs[rows]), self.targets[rows], reduction="sum"
            )
            (cost / len(rows)).backward()
            self.optimizer.step()

    def predict_proba(self, X):
        with self.torch.no_grad():
            logits = self.model(self.torch.from_numpy(X.astype(self.dtype, copy=False)))
        return self.torch.sigmoid(logits).numpy()


class SknnEngineRunner(SknnRunner):
    """sknn with one training loop forced through ``SKNN_ENGINE`` (see docs/performance.md).

    The plain ``sknn`` runner lets sknn choose: for MNIST, whose pixels are
    about 80% zeros, that is the compiled loop over nonzero inputs.
    """

    engine = ""
    memory_options = {}

    @classmethod
    def installed(cls):
        return (
            cls.engine == "numpy"
            or importlib.util.find_spec("sknn._cepoch") is not None
        )

    def epoch(self):
        os.environ["SKNN_ENGINE"] = self.engine
        super().epoch()


class SknnNumpyRunner(SknnEngineRunner):
    key = "sknn-numpy"
    label = "sknn MLPClassifierBook, numpy loop"
    engine = "numpy"


class SknnCompiledRunner(SknnEngineRunner):
    key = "sknn-compiled"
    label = "sknn MLPClassifierBook, compiled loop, dense first layer"
    engine = "compiled"


class SknnCompiledSparseRunner(SknnEngineRunner):
    key = "sknn-compiled-sparse"
    label = "sknn MLPClassifierBook, compiled loop, nonzero inputs only"
    engine = "compiled_sparse"


RUNNERS = {
    runner.key: runner
    for runner in (
        SknnRunner,
        SknnNumpyRunner,
        SknnCompiledRunner,
        SknnCompiledSparseRunner,
        SklearnRunner,
        TorchRunner,
    )
}


def runner_facts(keys):
    """The machine-table lines of the runners ``keys``, for a spawned process."""
    return [fact for key in keys for fact in RUNNERS[key].facts()]


def time_epochs(key, folder, *, epochs, evaluate, n_samples=None, **config):
    """Train with one runner epoch by epoch and time each epoch.

    Parameters
    ----------
    key : str
        Names the runner in :data:`RUNNERS`.
    folder : path-like
        Where ``harness.save_arrays`` wrote the data.
    epochs : int
    evaluate : bool
        Measure the test accuracy after the last epoch.
    n_samples : int or None
        Train on the first ``n_samples`` training images; None for all.
    **config
        The runner's configuration.

    Returns
    -------
    Timing
    """
    runner = RUNNERS[key](**config)
    X, y, X_val, y_val, X_test, y_test = load_arrays(
        folder, "X_train", "y_train", "X_val", "y_val", "X_test", "y_test"
    )
    runner.prepare(X[:n_samples], y[:n_samples], X_val, y_val)
    times = time_calls(runner.epoch, epochs)
    accuracy = None
    if evaluate:
        scores = runner.predict_proba(X_test.astype(runner.dtype, copy=False))
        accuracy = float(np.mean(scores.argmax(axis=1) == y_test))
    return Timing(
        library=key,
        label=runner.label,
        layers=(N_FEATURES, runner.hidden, N_CLASSES),
        batch_size=runner.batch_size,
        dtype=runner.dtype,
        n_samples=len(X[:n_samples]),
        times=times,
        variant=runner.variant,
        loop_times=runner.loop_times(),
        accuracy=accuracy,
    )


def memory_of(key, folder, *, call, predict_rows=1_000_000, n_samples=None):
    """Measure the extra memory of one training epoch or of ``predict_proba``.

    Parameters
    ----------
    key : str
        Names the runner in :data:`RUNNERS`.
    folder : path-like
        Where ``harness.save_arrays`` wrote the data.
    call : {"epoch", "predict_proba"}
        "epoch": one epoch at batch size 10 on the training images, with the
        runner's ``memory_options``, which its ``memory_note`` describes (sknn
        monitors the training cost and the validation accuracy, each a forward
        pass over its data set, as a user watching it would).
        "predict_proba": on ``predict_rows`` rows, the test images repeated
        into one preallocated array, after one epoch at batch size 100 (whose
        accuracy does not matter here).
    predict_rows : int
    n_samples : int or None
        Train on the first ``n_samples`` training images; None for all.

    Returns
    -------
    Memory
    """
    X, y, X_val, y_val, X_test = load_arrays(
        folder, "X_train", "y_train", "X_val", "y_val", "X_test"
    )
    X, y = X[:n_samples], y[:n_samples]
    if call == "epoch":
        runner = RUNNERS[key](batch_size=10, **RUNNERS[key].memory_options)
        runner.prepare(X, y, X_val, y_val)
        name = ", ".join(
            filter(None, [runner.epoch_call, "1 epoch at batch 10", runner.memory_note])
        )
        reading = measure_memory(lambda _: runner.epoch(), X)
    else:
        runner = RUNNERS[key](batch_size=100)
        runner.prepare(X, y, X_val, y_val)
        runner.epoch()
        rows = np.empty((predict_rows, X_test.shape[1]), X_test.dtype)
        for start in range(0, predict_rows, len(X_test)):
            rows[start : start + len(X_test)] = X_test[: predict_rows - start]
        name = f"`predict_proba` on {predict_rows:,} rows"
        reading = measure_memory(runner.predict_proba, rows)
    return Memory(library=key, label=runner.label, call=name, **reading)
