"""BaseMLPBook: what a classifier and a regressor over the book's network share.

A fit is a transaction. :meth:`BaseMLPBook.fit` first checks everything that
can be checked (hyperparameters, data, sample weights, callbacks, the memory
the weights need, the initializer's output: :mod:`sknn._plan` and
:mod:`sknn._fit_checks`), then trains on arrays of its own, and only a
completed run becomes the fitted model. If anything raises after the checks
(a callback, ``MemoryError``), the estimator is put back exactly as it was
before ``fit`` and the exception goes on to the caller.

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
``monitor``, stops a run whose cost or weights diverged, with a
:class:`~sknn._health.DivergenceWarning` and the last good epoch's weights;
after training, :class:`~sknn._health.FailedToLearnWarning` says when the
model did not learn. :mod:`sknn._health` holds both checks and their limits.

Ctrl-C (``KeyboardInterrupt``) wherever it lands, in a training step, the
evaluation or a hook: the model keeps the last completed epoch, with
``n_iter_``, ``history_`` and ``stop_reason_ = "interrupted"`` agreeing, a
:class:`TrainingInterruptedWarning` says so, and the ``KeyboardInterrupt`` is
raised again, so that a search (``GridSearchCV``, ``cross_validate``,
``BookSearchCV``) running the fit stops instead of scoring a truncated model.
If no epoch of this fit completed, the estimator is left as it was before.
"""

import time
import warnings
from contextlib import contextmanager

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from ._fit_checks import PARAMETER_CONSTRAINTS, _resolve
from ._health import (
    DivergenceWarning,
    FailedToLearnWarning,
    _health_problem,
    _norm,
    cost_before_training,
    failure_after_training,
)
from ._monitoring import MONITORS, measure
from ._network import Network
from ._plan import FitPlanMixin
from ._sklearn_callbacks import CallbackSupportMixin, SklearnCallbackBridge
from .callbacks import Decision
from .costs import COSTS
from .diagnostics import DIAGNOSTICS, diagnose


class TrainingInterruptedWarning(UserWarning):
    """Training was interrupted (Ctrl-C); the model keeps its last completed epoch."""


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


class BaseMLPBook(FitPlanMixin, CallbackSupportMixin, BaseEstimator):
    """The hyperparameters, fit transaction and epoch loop of the book's networks.

    Not for direct use: :class:`sknn.MLPClassifierBook` adds what is specific
    to classes (targets, ``classes_``, accuracy, probabilities). A subclass
    provides ``_check_targets``, ``_targets``, ``_stratify_labels``,
    ``_count_correct`` and ``_learning_failure`` (see each one's docstring).
    The hyperparameters are documented on the estimators.
    """

    _parameter_constraints = PARAMETER_CONSTRAINTS

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
        training_rows = network.training_input(X)
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
            start_cost, penalty = cost_before_training(network, plan, self.lmbda)
        self.initial_cost_ = start_cost + penalty
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
                        training_rows,
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
            failure = failure_after_training(
                self._network(), plan.train, self._learning_failure
            )
            if failure is not None:
                stop_reason, message = failure
                notes.append((message, FailedToLearnWarning))
        self.stop_reason_ = stop_reason
        return notes

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


def _copy_into(targets, sources):
    for target, source in zip(targets, sources):
        np.copyto(target, source)
