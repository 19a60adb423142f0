"""BaseMLPBook: what a classifier and a regressor over the book's network share.

A fit is a transaction. :meth:`BaseMLPBook.fit` first checks everything that
can be checked (hyperparameters, data, sample weights, callbacks, the memory
the weights need, the initializer's output), then trains on arrays of its own,
and only a completed run becomes the fitted model. If anything raises after the
checks (a callback, ``MemoryError``), the estimator is put back exactly as it
was before ``fit`` and the exception goes on to the caller.

Each piece of training state has one owner:

* the epoch loop (:meth:`BaseMLPBook._run_epochs`) owns the weights, the
  learning rate eta and the decision to stop. Hooks are told what happened
  (the estimator and the epoch's record) and answer with a
  :class:`sknn.callbacks.Decision`; the loop alone applies it. Every hook is
  reset (``on_train_begin``) at the start of every fit;
* the optimizer is built afresh for every fit; only a warm start carries the
  momentum velocities over, as fitted state;
* what prediction needs (the hidden activation and the cost, hence the output
  layer) is resolved once per fit and stored, so ``set_params`` never changes
  a fitted model.

A run that fails says so. After each epoch a health check, independent of
``monitor``, looks at the mean cost of the mini-batches as they were trained
and at the size of the weights; a cost or weights that stopped being finite,
a cost that exploded relative to the cost before training or to the first
epoch's, or weights that grew by orders of magnitude stop training with a
:class:`DivergenceWarning` and the last good epoch's weights. After training, :class:`FailedToLearnWarning`
says when the model is no better than a constant or a hidden layer passes no
gradient (dead ReLUs, saturated sigmoids).

Ctrl-C (``KeyboardInterrupt``) wherever it lands, in a training step, the
evaluation or a hook: the model keeps the last completed epoch, with
``n_iter_``, ``history_`` and ``stop_reason_ = "interrupted"`` agreeing, a
:class:`TrainingInterruptedWarning` says so, and the ``KeyboardInterrupt`` is
raised again, so that a search (``GridSearchCV``, ``cross_validate``,
``BookSearchCV``) running the fit stops instead of scoring a truncated model.
If no epoch of this fit completed, the estimator is left as it was before.
"""

import itertools
import os
import time
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils.validation import check_is_fitted, validate_data

from ._monitoring import MONITORS, measure
from ._network import Network
from ._sklearn_callbacks import CallbackSupportMixin, SklearnCallbackBridge
from ._sklearn_private import (
    HasMethods,
    Interval,
    StrOptions,
    _check_sample_weight,
)
from .activations import ACTIVATIONS
from .callbacks import (
    Decision,
    EarlyStopping,
    HalveLearningRateOnPlateau,
    ProgressPrinter,
    as_hook,
)
from .costs import COSTS
from .diagnostics import DIAGNOSTICS, diagnose
from .initializers import INITIALIZERS
from .optimizers import SGD
from .regularizers import REGULARIZERS

COST_GROWTH_LIMIT = 100.0
"""An epoch whose mean mini-batch cost exceeds this multiple of the first epoch's diverged."""

START_COST_GROWTH_LIMIT = 20.0
"""An epoch whose mean mini-batch cost exceeds this multiple of the cost before
training (or of 1, if that was smaller) diverged: training only ever lowers it."""

START_COST_ROWS = 1024
"""Training rows the cost before training is measured on."""

WEIGHT_GROWTH_LIMIT = 1e4
"""Weights whose norm grew this many times over their norm at the start of the fit diverged."""

EPOCH_GROWTH_LIMIT = 10.0
"""Weights whose norm grew this many times in each of two epochs in a row diverged."""

TRAINING_COPIES_OF_THE_WEIGHTS = 6
"""Arrays the size of the weights a fit holds: weights, steps, regularizer
scratch, momentum velocities, the last good epoch and the best epoch."""


class DivergenceWarning(ConvergenceWarning):
    """Training stopped because the cost or the weights stopped being finite or exploded."""


class FailedToLearnWarning(ConvergenceWarning):
    """Training ran to its end, but the model did not learn: see the message for what to try."""


class TrainingInterruptedWarning(UserWarning):
    """Training was interrupted (Ctrl-C); the model keeps its last completed epoch."""


def _resolve(value, table):
    """Look a string up in ``table``; anything else is used as given."""
    return table[value] if isinstance(value, str) else value


def _total_memory_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def auto_learning_rate(activation, cost, momentum):
    """The learning rate ``learning_rate="auto"`` stands for.

    The book's eta = 0.5 (chapter 3: sigmoid neurons, cross-entropy cost) is
    the starting point; it changes only where another choice changes the size
    of the steps:

    * the quadratic cost's output error carries the factor sigma'(z) <= 1/4
      (eq. 30), so its steps are smaller: eta x 2 (the book trains the
      quadratic cost with a larger eta, 3.0 in chapter 1);
    * tanh's derivative reaches 1 where the sigmoid's reaches 1/4, and ReLUs
      pass gradients unshrunk with unbounded activations: eta x 1/5 for both.
      At eta = 0.5 with momentum 0.9 every ReLU of a digits network dies
      within the first epoch;
    * linear output neurons (regression) have an output error a - y that no
      sigma' bounds, and the step on the output weights grows with the
      squared size of the last hidden layer's activations: eta x 1/10
      (instead of the quadratic cost's x 2);
    * momentum mu makes the steady step eta / (1 - mu) (chapter 3,
      "Momentum-based gradient descent"): eta x (1 - mu) keeps it the same.

    With this rule every hidden activation x cost x momentum in {0, 0.5, 0.9}
    x dropout in {0, 0.5}, all else at its default, reaches at least 0.93
    held-out accuracy on scikit-learn's digits in 15 epochs and passes
    scikit-learn's ``check_classifiers_train``; the test suite checks both.

    Parameters
    ----------
    activation : object
        The hidden activation, from :mod:`sknn.activations`.
    cost : object
        The cost, from :mod:`sknn.costs`.
    momentum : float

    Returns
    -------
    float
    """
    eta = 0.5
    output = getattr(getattr(cost, "output_activation", None), "name", None)
    if output == "identity":
        eta *= 0.1
    elif getattr(cost, "name", None) == "quadratic":
        eta *= 2.0
    if getattr(activation, "name", None) in ("tanh", "relu"):
        eta *= 0.2
    return eta * (1.0 - momentum)


@contextmanager
def _transaction(estimator):
    """Put every attribute back as it was if the body raises, then re-raise.

    Training never writes into arrays the previous model holds (a warm start
    trains copies), so restoring the attribute dictionary restores the model
    exactly: its pickle is byte for byte the same.
    """
    saved = estimator.__dict__.copy()
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(saved)
        raise


class _TrainingPlan:
    """What a fit resolved and checked before training: data, objects, weights."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


class BaseMLPBook(CallbackSupportMixin, BaseEstimator):
    """The hyperparameters, fit transaction and epoch loop of the book's networks.

    Not for direct use: :class:`sknn.MLPClassifierBook` adds what is specific
    to classes (targets, ``classes_``, accuracy, probabilities). A subclass
    provides ``_check_targets``, ``_targets``, ``_stratify_labels``,
    ``_count_correct`` and ``_learning_failure`` (see each one's docstring).
    The hyperparameters are documented on the estimators.
    """

    _parameter_constraints = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "cost": [StrOptions(set(COSTS)), HasMethods(["fn", "delta"])],
        "regularizer": [
            StrOptions(set(REGULARIZERS)),
            HasMethods(["penalty", "subtract_gradient"]),
        ],
        "lmbda": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "initializer": [StrOptions(set(INITIALIZERS)), callable],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "monitor": [list, tuple, None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "early_stopping": ["boolean"],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_schedule": [StrOptions({"constant", "halving"})],
        "min_learning_rate_ratio": [Interval(Real, 0, 1, closed="neither")],
        "callbacks": [list, tuple, None],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(30,),
        *,
        activation="sigmoid",
        cost="cross_entropy",
        regularizer="l2",
        lmbda=0.1,
        learning_rate="auto",
        batch_size=10,
        epochs=30,
        dropout=0.0,
        initializer="default",
        momentum=0.0,
        monitor=("training_cost", "validation_accuracy"),
        validation_fraction=None,
        early_stopping=False,
        n_iter_no_change=10,
        learning_rate_schedule="constant",
        min_learning_rate_ratio=1 / 128,
        callbacks=None,
        shuffle=True,
        random_state=None,
        warm_start=False,
        verbose=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.cost = cost
        self.regularizer = regularizer
        self.lmbda = lmbda
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.dropout = dropout
        self.initializer = initializer
        self.momentum = momentum
        self.monitor = monitor
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.learning_rate_schedule = learning_rate_schedule
        self.min_learning_rate_ratio = min_learning_rate_ratio
        self.callbacks = callbacks
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    # --- what a subclass provides -------------------------------------------

    _MONITORS = MONITORS + DIAGNOSTICS
    """The names the ``monitor`` hyperparameter accepts."""

    def _resolved_cost(self):
        """The cost object ``cost`` (and any output choice) stands for."""
        return _resolve(self.cost, COSTS)

    def _plateau_watch(self):
        """The record entry early stopping and the halving schedule watch."""
        return "validation_accuracy"

    def _check_targets(self, y, *, continuing, classes, incremental, name):
        """Check ``y`` (and on a fresh fit, record what it holds); return it."""
        raise NotImplementedError

    def _targets(self, y, dtype):
        """The network's target matrix Y for the checked ``y``, in ``dtype``."""
        raise NotImplementedError

    def _n_outputs(self):
        """Output neurons, known once the targets of a fresh fit were checked."""
        raise NotImplementedError

    def _stratify_labels(self, y):
        """Labels to stratify the validation split by, or None."""
        return None

    def _count_correct(self, outputs, Y):
        """Rows whose prediction from ``outputs`` is right, or None without accuracy."""
        return None

    def _learning_failure(self, outputs, Y, sample_weight):
        """A message when the trained model is no better than a constant, else None."""
        return None

    # --- fit ----------------------------------------------------------------

    def _fit(self, X, y, sample_weight, X_val, y_val, *, classes=None, incremental):
        """Check, train, and commit as one transaction; see the module docstring."""
        interrupted = None
        try:
            with _transaction(self):
                plan = self._plan(
                    X, y, sample_weight, X_val, y_val, classes, incremental=incremental
                )
                outcome = self._run_epochs(plan)
                if outcome["interrupted"] is not None and outcome["epochs_run"] == 0:
                    raise outcome["interrupted"]
                notes = self._commit(plan, outcome)
                interrupted = outcome["interrupted"]
        except KeyboardInterrupt:
            warnings.warn(
                "Training interrupted before its first epoch completed; the "
                "estimator is left as it was before fit.",
                TrainingInterruptedWarning,
                stacklevel=3,
            )
            raise
        for message, category in notes:
            warnings.warn(message, category, stacklevel=3)
        if interrupted is not None:
            raise interrupted
        return self

    def _plan(self, X, y, sample_weight, X_val, y_val, classes, *, incremental):
        """Check everything that can be checked; return what training needs."""
        continuing = hasattr(self, "coefs_") and (self.warm_start or incremental)
        hidden = self._checked_hidden_sizes()
        monitor = self._checked_monitor()
        hooks = self._epoch_hooks(incremental)
        activation = ACTIVATIONS[self.activation]
        cost = self._resolved_cost()
        if continuing:
            self._check_continued_functions(activation, cost)
        regularizer = _resolve(self.regularizer, REGULARIZERS)
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=not continuing,
        )
        if continuing:
            X = X.astype(self.coefs_[0].dtype, copy=False)
        y = self._check_targets(
            y,
            continuing=continuing,
            classes=classes,
            incremental=incremental,
            name="y",
        )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
            self._check_weight_total(sample_weight, "sample_weight")
        train, validation = self._validation_split(
            X, y, sample_weight, X_val, y_val, incremental
        )
        n_train = self._training_set_size(train[2], train[0])
        layer_sizes = [X.shape[1], *hidden, self._n_outputs()]
        rng = (
            self._rng_copy()
            if continuing
            else np.random.default_rng(
                check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            )
        )
        if continuing:
            self._check_continued_layers(layer_sizes)
            coefs = [w.copy() for w in self.coefs_]
            intercepts = [b.copy() for b in self.intercepts_]
            velocities = self._velocity_copies()
            history = list(self.history_)
            n_iter = self.n_iter_
        else:
            self._check_memory(layer_sizes, X.dtype)
            coefs, intercepts = self._initial_parameters(layer_sizes, rng, X.dtype)
            velocities, history, n_iter = None, [], 0
        momentum = float(self.momentum)
        eta = (
            auto_learning_rate(activation, cost, momentum)
            if isinstance(self.learning_rate, str)
            else float(self.learning_rate)
        )
        return _TrainingPlan(
            train=(train[0], self._targets(train[1], X.dtype), train[2], train[1]),
            validation=None
            if validation is None
            else (
                validation[0],
                self._targets(validation[1], X.dtype),
                validation[2],
            ),
            monitored=self._monitored(monitor, validation is not None, incremental),
            hooks=hooks,
            activation=activation,
            cost=cost,
            regularizer=regularizer,
            n_train=n_train,
            optimizer=SGD(regularizer, self.lmbda, n_train, momentum, velocities),
            learning_rate=eta,
            coefs=coefs,
            intercepts=intercepts,
            history=history,
            n_iter=n_iter,
            rng=rng,
            epochs=1 if incremental else self.epochs,
            incremental=incremental,
            layer_sizes=layer_sizes,
        )

    def _checked_hidden_sizes(self):
        hidden = np.atleast_1d(self.hidden_layer_sizes)
        if hidden.ndim != 1 or not all(
            isinstance(size, Integral) and size > 0 for size in hidden.tolist()
        ):
            raise ValueError(
                "hidden_layer_sizes must be a positive int or a sequence of positive "
                f"ints, one per hidden layer; got {self.hidden_layer_sizes!r}."
            )
        return hidden.tolist()

    def _checked_monitor(self):
        monitor = set(self.monitor or ())
        unknown = monitor - set(self._MONITORS)
        if unknown:
            raise ValueError(
                f"monitor has unknown entries {sorted(unknown)}; "
                f"valid ones are {list(self._MONITORS)}."
            )
        return monitor

    @staticmethod
    def _check_weight_total(sample_weight, name):
        if not sample_weight.sum() > 0:
            raise ValueError(
                f"{name} sums to {sample_weight.sum():g}: at least one sample must "
                "have a positive weight, since each mini-batch's gradient is a "
                "weighted mean and lambda is divided by the total weight."
            )

    @staticmethod
    def _training_set_size(sample_weight, X):
        """n of lambda / n: the number of rows, or the sum of their weights."""
        return X.shape[0] if sample_weight is None else float(sample_weight.sum())

    def _validation_split(self, X, y, sample_weight, X_val, y_val, incremental):
        needs_validation = not incremental and (
            self.early_stopping or self.learning_rate_schedule == "halving"
        )
        if (X_val is None) != (y_val is None):
            raise ValueError("Pass both X_val and y_val, or neither.")
        if X_val is not None:
            X_val, y_val = validate_data(
                self,
                X_val,
                y_val,
                accept_sparse="csr",
                multi_output=True,
                dtype=X.dtype,
                reset=False,
            )
            y_val = self._check_targets(
                y_val, continuing=True, classes=None, incremental=False, name="y_val"
            )
            return (X, y, sample_weight), (X_val, y_val, None)
        if self.validation_fraction is not None and not incremental:
            return self._split(X, y, sample_weight)
        if needs_validation:
            raise ValueError(
                "early_stopping and learning_rate_schedule='halving' watch the "
                f"{self._plateau_watch().replace('_', ' ')}, so they need validation "
                "data: set "
                "validation_fraction (e.g. 0.1), or pass X_val and y_val to fit."
            )
        return (X, y, sample_weight), None

    def _split(self, X, y, sample_weight):
        """Hold out ``validation_fraction`` of the rows, stratified where there are labels."""
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        stratify = self._stratify_labels(y)
        arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
        try:
            parts = train_test_split(
                *arrays,
                test_size=self.validation_fraction,
                random_state=seed,
                stratify=stratify,
            )
        except ValueError as error:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} cannot hold out a "
                f"validation set from {X.shape[0]} samples"
                + (" that holds every class" if stratify is not None else "")
                + f": {error} Use a larger validation_fraction, more data, or pass "
                "X_val and y_val."
            ) from error
        train, validation = parts[0::2], parts[1::2]
        if sample_weight is None:
            train, validation = (*train, None), (*validation, None)
        if train[2] is not None:
            self._check_weight_total(
                train[2],
                "sample_weight of the rows left for training after "
                "validation_fraction held out the rest",
            )
        return tuple(train), tuple(validation)

    def _check_memory(self, layer_sizes, dtype):
        n_parameters = sum(
            (n_in + 1) * n_out for n_in, n_out in itertools.pairwise(layer_sizes)
        )
        needed = (
            TRAINING_COPIES_OF_THE_WEIGHTS * n_parameters * np.dtype(dtype).itemsize
        )
        available = _total_memory_bytes()
        if available is not None and needed > available:
            raise ValueError(
                f"hidden_layer_sizes={self.hidden_layer_sizes!r} gives layers "
                f"{layer_sizes} with {n_parameters:,} weights and biases; training "
                f"them needs about {needed / 2**30:,.1f} GiB, more than this "
                f"machine's {available / 2**30:,.1f} GiB of memory. Use smaller "
                "hidden layers."
            )

    def _initial_parameters(self, layer_sizes, rng, dtype):
        initializer = _resolve(self.initializer, INITIALIZERS)
        coefs, intercepts = [], []
        for layer, (n_in, n_out) in enumerate(itertools.pairwise(layer_sizes)):
            try:
                weights, biases = initializer(n_in, n_out, rng, dtype)
            except (TypeError, ValueError) as error:
                raise ValueError(
                    f"initializer {self.initializer!r} must return (weights, biases) "
                    f"for n_in={n_in}, n_out={n_out}; it raised or returned "
                    f"something else: {error}"
                ) from error
            weights, biases = np.asarray(weights), np.asarray(biases)
            if weights.shape != (n_in, n_out) or biases.shape != (n_out,):
                raise ValueError(
                    f"initializer {self.initializer!r} returned weights of shape "
                    f"{weights.shape} and biases of shape {biases.shape} for layer "
                    f"{layer + 1}; expected ({n_in}, {n_out}) and ({n_out},)."
                )
            if not (np.isfinite(weights).all() and np.isfinite(biases).all()):
                raise ValueError(
                    f"initializer {self.initializer!r} returned non-finite weights "
                    f"or biases for layer {layer + 1}."
                )
            coefs.append(np.ascontiguousarray(weights, dtype=dtype))
            intercepts.append(np.ascontiguousarray(biases, dtype=dtype))
        return coefs, intercepts

    def _check_continued_layers(self, layer_sizes):
        fitted = [self.coefs_[0].shape[0]] + [w.shape[1] for w in self.coefs_]
        if fitted != layer_sizes:
            raise ValueError(
                f"warm_start continues the fitted layers {fitted}, but "
                f"hidden_layer_sizes={self.hidden_layer_sizes!r} now asks for "
                f"{layer_sizes}. Set warm_start=False to start afresh."
            )

    def _check_continued_functions(self, activation, cost):
        """A warm start keeps the neurons the weights were trained for."""
        fitted_output = self._fitted_cost.output_activation.name
        if activation.name != self._fitted_activation.name:
            raise ValueError(
                f"warm_start continues a model of {self._fitted_activation.name} "
                f"neurons; activation={self.activation!r} would change what its "
                "weights mean. Set warm_start=False to start afresh."
            )
        if cost.output_activation.name != fitted_output:
            raise ValueError(
                f"warm_start continues a model with {fitted_output} outputs; "
                f"cost={self.cost!r} needs {cost.output_activation.name} outputs. "
                "Set warm_start=False to start afresh."
            )

    def _rng_copy(self):
        rng = np.random.default_rng()
        rng.bit_generator.state = self._rng.bit_generator.state
        return rng

    def _velocity_copies(self):
        velocities = getattr(self, "_velocities", None)
        if velocities is None:
            return None
        return tuple([v.copy() for v in layer] for layer in velocities)

    def _epoch_hooks(self, incremental):
        """The hooks called after each epoch, with the stop reason each one gives."""
        hooks = []
        if self.verbose:
            hooks.append(("callback", ProgressPrinter()))
        if not incremental and self.learning_rate_schedule == "halving":
            hooks.append(
                (
                    "learning_rate_floor",
                    HalveLearningRateOnPlateau(
                        self.n_iter_no_change,
                        self.min_learning_rate_ratio,
                        self._plateau_watch(),
                    ),
                )
            )
        elif not incremental and self.early_stopping:
            hooks.append(
                (
                    "early_stopping",
                    EarlyStopping(self.n_iter_no_change, self._plateau_watch()),
                )
            )
        hooks.extend(("callback", as_hook(c)) for c in self.callbacks or ())
        return hooks

    def _monitored(self, wanted, has_validation, incremental):
        wanted = set(wanted)
        if not has_validation:
            return {m for m in wanted if not m.startswith("validation")}
        if not incremental and (
            self.early_stopping or self.learning_rate_schedule == "halving"
        ):
            wanted.add(self._plateau_watch())
        return wanted

    # --- the epoch loop -----------------------------------------------------

    def _install(self, plan):
        """Make the plan's arrays the estimator's, so hooks see the live model."""
        self.coefs_, self.intercepts_ = plan.coefs, plan.intercepts
        self.history_ = plan.history
        self.n_iter_ = plan.n_iter
        self.learning_rate_ = plan.learning_rate
        self.best_epoch_ = None
        self._fitted_activation = plan.activation
        self._fitted_cost = plan.cost

    def _run_epochs(self, plan):
        """Train up to ``plan.epochs`` epochs; return how the run ended.

        The loop is the only writer of the weights, eta, ``history_`` and
        ``n_iter_`` during training. An epoch counts once its step, its
        evaluation, the health check and every hook have run; a
        ``KeyboardInterrupt`` before that rolls the epoch back.
        """
        self._install(plan)
        X, Y, sample_weight, y = plan.train
        network = Network(plan.coefs, plan.intercepts, plan.activation, plan.cost)
        parameters = plan.coefs + plan.intercepts
        batch_size = min(self.batch_size, X.shape[0])
        validation_n = (
            None
            if plan.validation is None
            else self._training_set_size(plan.validation[2], plan.validation[0])
        )
        monitors_cost = any(name.endswith("_cost") for name in plan.monitored)
        for _, hook in plan.hooks:
            if hasattr(hook, "on_train_begin"):
                hook.on_train_begin(self)
        bridge = SklearnCallbackBridge(self, X, y, sample_weight, plan.epochs)
        start_norm = _norm(plan.coefs)
        norms = [start_norm]
        with np.errstate(over="ignore", invalid="ignore"):
            start_cost = network.mean_cost(X[:START_COST_ROWS], Y[:START_COST_ROWS])
        first_cost = None
        outcome = {"stop_reason": "epochs", "interrupted": None, "epochs_run": 0}
        eta = plan.learning_rate
        for _ in range(plan.epochs):
            epoch = self.n_iter_ + 1
            last_good = [p.copy() for p in parameters]
            velocities = plan.optimizer.velocity_copies()
            rng_state = plan.rng.bit_generator.state
            try:
                bridge.begin_epoch()
                started = time.perf_counter()
                with np.errstate(over="ignore", invalid="ignore"):
                    batch_cost = network.train_epoch(
                        X,
                        Y,
                        plan.optimizer,
                        batch_size=batch_size,
                        learning_rate=eta,
                        rng=plan.rng,
                        dropout=self.dropout,
                        sample_weight=sample_weight,
                        shuffle=self.shuffle,
                    )
                record = {
                    "epoch": epoch,
                    "learning_rate": eta,
                    "time": time.perf_counter() - started,
                }
                with np.errstate(over="ignore", invalid="ignore"):
                    record.update(
                        self._evaluate(
                            network, plan, monitors_cost, validation_n, record
                        )
                    )
                    norm = _norm(plan.coefs)
                problem = _health_problem(
                    batch_cost, (start_cost, first_cost), [*norms, norm]
                )
                if first_cost is None:
                    first_cost = batch_cost
                if problem is not None:
                    record["diverged"] = True
                    _copy_into(parameters, last_good)
                    plan.optimizer.restore_velocities(velocities)
                    self.history_.append(record)
                    self.n_iter_ = epoch
                    bridge.end_epoch()
                    outcome["stop_reason"] = "diverged"
                    outcome["divergence"] = (epoch, problem, eta)
                    outcome["epochs_run"] += 1
                    break
                decisions = [
                    (reason, Decision.of(hook.on_epoch_end(self, record)))
                    for reason, hook in plan.hooks
                ]
                sklearn_stop = bridge.end_epoch()
                norms.append(norm)
            except KeyboardInterrupt as interrupt:
                _copy_into(parameters, last_good)
                plan.optimizer.restore_velocities(velocities)
                plan.rng.bit_generator.state = rng_state
                del self.history_[epoch - 1 - plan.n_iter :]
                self.n_iter_ = epoch - 1
                outcome.update(stop_reason="interrupted", interrupted=interrupt)
                outcome["interrupted_epoch"] = epoch
                break
            self.history_.append(record)
            self.n_iter_ = epoch
            outcome["epochs_run"] += 1
            stops = [reason for reason, decision in decisions if decision.stop]
            new_rates = [d.learning_rate for _, d in decisions if d.learning_rate]
            if new_rates:
                eta = new_rates[-1]
                self.learning_rate_ = eta
            if sklearn_stop:
                stops.append("callback")
            if stops:
                outcome["stop_reason"] = stops[0]
                break
        try:
            self._end_hooks(plan, parameters)
        except KeyboardInterrupt as interrupt:
            if outcome["interrupted"] is None:
                outcome.update(stop_reason="interrupted", interrupted=interrupt)
                outcome["interrupted_epoch"] = self.n_iter_ + 1
        bridge.end_fit()
        return outcome

    def _end_hooks(self, plan, parameters):
        for _, hook in plan.hooks:
            if not hasattr(hook, "on_train_end"):
                continue
            decision = Decision.of(hook.on_train_end(self))
            if decision.restore is not None:
                epoch, saved = decision.restore
                _copy_into(parameters, saved)
                self.best_epoch_ = epoch

    def _evaluate(self, network, plan, monitors_cost, validation_n, record):
        """The epoch's monitored measures; each cost adds lambda / n of its own data set."""
        if not plan.monitored:
            return {}
        lmbda = self.lmbda
        entries = diagnose(network, *plan.train[:2], plan.monitored)
        penalty = (
            plan.regularizer.penalty(plan.coefs, lmbda, plan.n_train)
            if monitors_cost and lmbda
            else 0.0
        )
        entries.update(
            measure(
                network,
                plan.train[:3],
                plan.monitored,
                prefix="training",
                penalty=penalty,
                count_correct=self._count_correct,
            )
        )
        if plan.validation is not None:
            penalty = (
                plan.regularizer.penalty(plan.coefs, lmbda, validation_n)
                if "validation_cost" in plan.monitored and lmbda
                else 0.0
            )
            entries.update(
                measure(
                    network,
                    plan.validation,
                    plan.monitored,
                    prefix="validation",
                    penalty=penalty,
                    count_correct=self._count_correct,
                )
            )
        return entries

    def _commit(self, plan, outcome):
        """Finish the fitted state; return the warnings the run calls for.

        ``partial_fit`` skips the checks after training: one call sees one
        chunk for one epoch, too little to judge whether the model learns.
        """
        self.n_layers_ = len(plan.layer_sizes)
        self.n_outputs_ = plan.layer_sizes[-1]
        self.out_activation_ = plan.cost.output_activation.name
        self._rng = plan.rng
        self._velocities = plan.optimizer.velocity_copies()
        notes = []
        stop_reason = outcome["stop_reason"]
        if outcome["interrupted"] is not None:
            epoch = outcome["interrupted_epoch"]
            notes.append(
                (
                    f"Training interrupted during epoch {epoch}; the model keeps the "
                    f"weights of epoch {self.n_iter_} and is ready to use. The "
                    "KeyboardInterrupt is raised again so that a search running "
                    "this fit stops too.",
                    TrainingInterruptedWarning,
                )
            )
        elif stop_reason == "diverged":
            epoch, problem, eta = outcome["divergence"]
            notes.append(
                (
                    f"Training diverged in epoch {epoch}: {problem}. The weights of "
                    f"epoch {epoch - 1} are kept. Try a smaller learning_rate (now "
                    f"{eta:g}), or a smaller lmbda if eta * lmbda / n is near 2.",
                    DivergenceWarning,
                )
            )
        elif not plan.incremental:
            failure = self._failure_after_training(plan)
            if failure is not None:
                stop_reason, message = failure
                notes.append((message, FailedToLearnWarning))
        self.stop_reason_ = stop_reason
        return notes

    def _failure_after_training(self, plan):
        """("dead_units" or "failed_to_learn", message), or None for a model that learned."""
        X, Y, sample_weight, _ = plan.train
        passing, outputs = self._forward_with_gradient_flow(X)
        for layer, units in enumerate(passing, start=1):
            if not units.any():
                what = (
                    "never active (dead ReLUs)"
                    if plan.activation.name == "relu"
                    else "saturated on every sample"
                )
                return "dead_units", (
                    f"Every unit of hidden layer {layer} is {what}, so no gradient "
                    "reaches the layers below and the network cannot learn. Try a "
                    "smaller learning_rate (or learning_rate='auto'), less momentum, "
                    "the 'he' initializer for ReLU, or scaled inputs."
                )
        message = self._learning_failure(outputs, Y, sample_weight)
        if message is not None:
            return "failed_to_learn", message
        return None

    def _forward_with_gradient_flow(self, X):
        """Return ([per hidden unit: does it pass gradient on some row?], outputs).

        A unit passes gradient on a row when its activation's derivative there
        is not negligible; a ReLU that is never active, or a sigmoid stuck at 0
        or 1, passes none. Rows go in chunks (``gen_batches``).
        """
        activations = [self._fitted_activation] * (len(self.coefs_) - 1) + [
            self._fitted_cost.output_activation
        ]
        n_hidden = len(self.coefs_) - 1
        passing = [np.zeros(w.shape[1], bool) for w in self.coefs_[:-1]]
        outputs = np.empty((X.shape[0], self.coefs_[-1].shape[1]), X.dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            for rows in gen_batches(X.shape[0], 4096):
                a = X[rows]
                for layer, (w, b, f) in enumerate(
                    zip(self.coefs_, self.intercepts_, activations)
                ):
                    z = a @ w
                    z += b
                    a = f.fn(z, out=z)
                    if layer < n_hidden:
                        passing[layer] |= (f.derivative(a) > 1e-6).any(axis=0)
                outputs[rows] = a
        return passing, outputs

    # --- prediction ---------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _network(self):
        return Network(
            self.coefs_, self.intercepts_, self._fitted_activation, self._fitted_cost
        )

    def _feedforward(self, X):
        X = self._validated_input(X)
        return self._network().feedforward(X)

    def _validated_input(self, X):
        """X checked against the fitted model, for prediction and ``transform``.

        A sparse X becomes CSR, whose row chunks the forward pass multiplies
        without densifying.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse="csr", dtype=(np.float64, np.float32), reset=False
        )
        dtype = self.coefs_[0].dtype
        if X.dtype != dtype and X.shape[0] * X.shape[1]:
            largest = abs(X).max()
            if largest > np.finfo(dtype).max:
                raise ValueError(
                    f"X holds values up to {largest:.3g} in magnitude, beyond the "
                    f"range of {dtype} ({np.finfo(dtype).max:.3g}) that the model "
                    "was fitted in. Scale X as the training data was scaled."
                )
        return X

    @property
    def loss_curve_(self):
        check_is_fitted(self)
        return [record.get("training_cost", np.nan) for record in self.history_]


def _norm(arrays):
    return float(np.sqrt(sum(float(np.vdot(a, a)) for a in arrays)))


def _copy_into(targets, sources):
    for target, source in zip(targets, sources):
        np.copyto(target, source)


def _health_problem(batch_cost, reference_costs, norms):
    """Why this epoch diverged, in words, or None if it looks healthy.

    ``reference_costs`` are the cost before training and the first epoch's
    mean mini-batch cost (None during the first epoch); ``norms`` are the
    weight norms at the start of the fit and after each epoch, this one last.
    """
    start_cost, first_cost = reference_costs
    norm, start_norm = norms[-1], norms[0]
    if not np.isfinite(batch_cost):
        return f"the cost of its mini-batches became {batch_cost}"
    if not np.isfinite(norm):
        return "the weights stopped being finite"
    if np.isfinite(start_cost) and batch_cost > START_COST_GROWTH_LIMIT * max(
        start_cost, 1.0
    ):
        return (
            f"the mean cost of its mini-batches rose to {batch_cost:.4g}, over "
            f"{START_COST_GROWTH_LIMIT:g} times the {start_cost:.4g} before training"
        )
    if first_cost is not None and batch_cost > COST_GROWTH_LIMIT * max(
        first_cost, 1e-3
    ):
        return (
            f"the mean cost of its mini-batches rose to {batch_cost:.4g}, over "
            f"{COST_GROWTH_LIMIT:g} times the first epoch's {first_cost:.4g}"
        )
    if norm > WEIGHT_GROWTH_LIMIT * max(start_norm, 1.0):
        return (
            f"the weights grew to a norm of {norm:.3g}, over {WEIGHT_GROWTH_LIMIT:g} "
            f"times their {start_norm:.3g} at the start of the fit"
        )
    if len(norms) >= 3 and all(
        later > EPOCH_GROWTH_LIMIT * max(earlier, 1.0)
        for earlier, later in itertools.pairwise(norms[-3:])
    ):
        return (
            f"the weights grew over {EPOCH_GROWTH_LIMIT:g}-fold in each of the last "
            f"two epochs, to a norm of {norm:.3g}"
        )
    return None


def learning_rate_for(params):
    """The eta a fit with these hyperparameters starts from: a number as given, "auto" resolved.

    Parameters
    ----------
    params : dict
        An estimator's ``get_params()`` (only "learning_rate", "activation",
        "cost" and "momentum" are read; missing ones take their defaults).

    Returns
    -------
    float
    """
    learning_rate = params.get("learning_rate", "auto")
    if not isinstance(learning_rate, str):
        return float(learning_rate)
    return auto_learning_rate(
        _resolve(params.get("activation", "sigmoid"), ACTIVATIONS),
        _resolve(params.get("cost", "cross_entropy"), COSTS),
        float(params.get("momentum", 0.0)),
    )
