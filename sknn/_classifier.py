"""MLPClassifierBook: the book's network as a scikit-learn classifier."""

import itertools
import time
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._monitoring import MONITORS, measure
from ._network import Network
from ._sklearn_callbacks import CallbackSupportMixin, SklearnCallbackBridge
from .activations import ACTIVATIONS
from .callbacks import (
    EarlyStopping,
    HalveLearningRateOnPlateau,
    ProgressPrinter,
    as_hook,
)
from .costs import COSTS
from .initializers import INITIALIZERS
from .optimizers import SGD
from .regularizers import REGULARIZERS


class DivergenceWarning(ConvergenceWarning):
    """Training stopped because the cost or the weights stopped being finite."""


class TrainingInterruptedWarning(UserWarning):
    """Training was interrupted (Ctrl-C); the model keeps its last completed epoch."""


def _resolve(value, table):
    """Look a string up in ``table``; anything else is used as given."""
    return table[value] if isinstance(value, str) else value


@contextmanager
def _state_restored_on_error(estimator):
    """Put every fitted attribute back as it was if the body raises.

    Validation may set ``n_features_in_`` or ``feature_names_in_`` before it
    finds a problem in the data; this keeps an already fitted model whole.
    """
    state = estimator.__dict__.copy()
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(state)
        raise


class MLPClassifierBook(CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    """A feedforward network trained as in *Neural Networks and Deep Learning*.

    Mini-batch stochastic gradient descent with backpropagation over a fully
    connected network, with the choices of chapters 1 and 3 (network2.py)
    as hyperparameters, so that scikit-learn's ``GridSearchCV`` can tune them.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(30,)
        Neurons in each hidden layer; the book's MNIST network is (30,).
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        The hidden neurons (eq. 3 for the sigmoid).
    cost : {"cross_entropy", "quadratic", "log_likelihood"} or object, \
default="cross_entropy"
        The cost C_0 and with it the output layer: sigmoid outputs for
        "quadratic" (eq. 6) and "cross_entropy" (eq. 57, 63), softmax for
        "log_likelihood" (eq. 78-80). An object (class or instance) with
        ``output_activation``, ``fn(a, y)`` and ``delta(a, y, out, scratch)``
        is used as given; see :mod:`sknn.costs`.
    regularizer : {"l2", "l1", "none"} or object, default="l2"
        The penalty on the weights (biases are never penalised): L2 (eq.
        85-93) or L1 (eq. 95-97). See :mod:`sknn.regularizers`.
    lmbda : float, default=0.1
        The regularization parameter lambda, divided by the training-set size
        n (the sum of the sample weights) as in the book. What matters is
        lambda / n: the book's lambda = 5 on 50,000 MNIST images is about
        0.13 on the 1,347 training images of a 75% split of sklearn's digits.
    learning_rate : float, default=0.5
        The learning rate eta (eq. 20-21), > 0; eta0 for the schedule.
    batch_size : int, default=10
        The mini-batch size m; the last mini-batch of an epoch may be smaller.
    epochs : int, default=30
        The most passes over the training data a ``fit`` makes.
    dropout : float, default=0.0
        The fraction p of hidden neurons dropped in each mini-batch while
        training, in [0, 1). Inverted dropout: kept neurons are scaled by
        1 / (1 - p) during training, so prediction uses every neuron as is and
        is deterministic. 0 turns dropout off.
    initializer : {"default", "large", "he"} or callable, default="default"
        How the first weights are drawn: "default" N(0, 1/n_in) weights and
        N(0, 1) biases; "large" N(0, 1) for both (chapter 1); "he" N(0, 2/n_in)
        weights and zero biases, suited to ReLU. A callable
        ``(n_in, n_out, rng, dtype) -> (weights, biases)`` is used as given.
    momentum : float, default=0.0
        The momentum coefficient mu in [0, 1); 0 is plain SGD.
    monitor : tuple of str, default=("training_cost", "validation_accuracy")
        What ``history_`` records after each epoch, among "training_cost",
        "training_accuracy", "validation_cost" and "validation_accuracy"
        (network2.py's ``monitor_*`` flags). Each costs one forward pass over
        its data set (in chunks, so memory stays bounded); () records only the
        epoch, learning rate and time, and an epoch then costs no more than
        the training itself. Validation entries need validation data.
        Costs include the regularization term.
    validation_fraction : float or None, default=None
        Hold out this fraction of the training data (stratified by class,
        seeded by ``random_state``) as validation data. Ignored when ``fit``
        is given ``X_val`` and ``y_val``.
    early_stopping : bool, default=False
        Stop when validation accuracy has not improved for
        ``n_iter_no_change`` epochs and restore the best epoch's weights
        (chapter 3's "no-improvement-in-n"). Needs validation data.
    n_iter_no_change : int, default=10
        The n of "no-improvement-in-n", for early stopping and the schedule.
    learning_rate_schedule : {"constant", "halving"}, default="constant"
        "halving" halves eta each time validation accuracy has not improved for
        ``n_iter_no_change`` epochs, and stops once eta falls below
        ``learning_rate * min_learning_rate_ratio``, restoring the best
        epoch's weights (chapter 3's learning-rate schedule). Needs
        validation data.
    min_learning_rate_ratio : float, default=1/128
        The fraction of eta0 below which the halving schedule stops.
    callbacks : list or None, default=None
        Functions ``f(estimator, record)`` or objects with
        ``on_epoch_end(estimator, record)`` (see :mod:`sknn.callbacks`),
        called after each epoch with that epoch's ``history_`` record; a true
        return value stops training. scikit-learn's own callbacks
        (``sklearn.callback``, scikit-learn >= 1.9) are set with
        ``set_callbacks`` instead.
    shuffle : bool, default=True
        Shuffle the training data before each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds all randomness: the initial weights, the shuffles, the dropout
        masks and the validation split. The same seed gives the same model.
    warm_start : bool, default=False
        Continue from the previous fit's weights (and momentum velocities)
        instead of starting afresh.
    verbose : bool, default=False
        Print one line per epoch with what is monitored, as network2.py does:
        ``Epoch 3: training cost 0.4100, validation accuracy 9566 / 10000, ...``

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    coefs_ : list of ndarray of shape (n_in, n_out)
        The weights of each layer, oriented as scikit-learn's MLPClassifier's.
    intercepts_ : list of ndarray of shape (n_out,)
        The biases of each layer.
    history_ : list of dict
        One record per epoch run: "epoch", "learning_rate", "time" (seconds of
        training), and what ``monitor`` asks for ("training_cost",
        "validation_accuracy", ..., with "*_correct" and "*_size" counts for
        accuracies). ``pandas.DataFrame(clf.history_)`` makes it a table.
        When training diverges, the last record is the epoch that diverged,
        marked ``"diverged": True``, and the weights are those of the epoch
        before it.
    loss_curve_ : list of float
        The "training_cost" of each epoch of ``history_`` (NaN where it was
        not monitored), like scikit-learn's MLPClassifier's.
    n_iter_ : int
        Epochs run, over all fits of this model (warm starts add to it); it
        counts an epoch that diverged, whose weights were not kept.
    learning_rate_ : float
        The learning rate at the end of training. When the halving schedule
        stops training, it is the first rate below the floor, never used.
    best_epoch_ : int or None
        With early stopping or the halving schedule, the epoch whose weights
        were restored.
    stop_reason_ : str
        Why the last fit stopped: "epochs", "early_stopping",
        "learning_rate_floor", "callback", "diverged" or "interrupted".
    n_layers_ : int
        Layers, counting input and output.
    n_outputs_ : int
        Output neurons: one per class (one per label for multilabel targets).
    out_activation_ : str
        The output layer's activation, fixed by the cost.
    n_features_in_ : int
        Features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen in ``fit``, when X had string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknn import MLPClassifierBook
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifierBook(epochs=5, random_state=0).fit(X / 16, y)
    >>> clf.predict(X[:3] / 16)
    array([0, 1, 2])
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
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
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
        learning_rate=0.5,
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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None):
        """Train the network for at most ``epochs`` epochs of mini-batch SGD.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. float32 input is trained in float32.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multilabel indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Each mini-batch's gradient is the weighted mean of its samples'
            gradients, and n in lambda / n is the sum of the weights.
        X_val, y_val : array-like, default=None
            Validation data for monitoring, early stopping and the schedule,
            used instead of a ``validation_fraction`` split. Inside a
            ``Pipeline`` or a search, route them with scikit-learn's metadata
            routing: ``set_fit_request(X_val=True, y_val=True)`` on this
            estimator and ``Pipeline(..., transform_input=["X_val"])`` so that
            X_val goes through the same preprocessing as X.

        Returns
        -------
        self : MLPClassifierBook
        """
        continuing = self.warm_start and hasattr(self, "coefs_")
        with _state_restored_on_error(self):
            train, validation = self._validate_training_data(
                X, y, sample_weight, X_val, y_val, continuing=continuing
            )
        self._train(train, validation, epochs=self.epochs)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train the network for one epoch over ``X``, from its current weights.

        Early stopping and the schedule do not apply: they need the epochs
        that a single call does not see.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        classes : array-like of shape (n_classes,), default=None
            All the classes that ``y`` may hold over all calls. Required on
            the first call (unless ``y`` is a multilabel indicator matrix),
            ignored afterwards.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : MLPClassifierBook
        """
        continuing = hasattr(self, "coefs_")
        with _state_restored_on_error(self):
            train, _ = self._validate_training_data(
                X,
                y,
                sample_weight,
                None,
                None,
                continuing=continuing,
                classes=classes,
                incremental=True,
            )
        self._train(train, None, epochs=1, incremental=True)
        return self

    def predict(self, X):
        """Predict the class of each row: the output neuron with the largest activation.

        For multilabel targets, every label whose output exceeds 0.5.
        """
        output = self._feedforward(X)
        if self._is_multilabel():
            return self._label_binarizer.inverse_transform(output, threshold=0.5)
        return self.classes_[np.argmax(output, axis=1)]

    def predict_proba(self, X):
        """Class probabilities: the output activations, normalised to sum to one.

        Softmax outputs are probabilities already; sigmoid outputs (quadratic
        and cross-entropy costs) are divided by their row sum. For multilabel
        targets, each label's sigmoid output is its own probability.
        """
        output = self._feedforward(X)
        if self._is_multilabel():
            return output
        row_sums = output.sum(axis=1, keepdims=True)
        np.divide(output, row_sums, out=output, where=row_sums > 0)
        output[row_sums[:, 0] == 0] = 1.0 / output.shape[1]
        return output

    def predict_log_proba(self, X):
        """The logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    @property
    def loss_curve_(self):
        check_is_fitted(self)
        return [record.get("training_cost", np.nan) for record in self.history_]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = not self._has_softmax_output()
        return tags

    # --- internals ----------------------------------------------------------

    def _cost(self):
        return _resolve(self.cost, COSTS)

    def _has_softmax_output(self):
        return self._cost().output_activation.name == "softmax"

    def _is_multilabel(self):
        return self._label_binarizer.y_type_ == "multilabel-indicator"

    def _parameters(self):
        """Every trained array, weights then biases, for snapshots and restores."""
        return self.coefs_ + self.intercepts_

    def _network(self):
        return Network(
            self.coefs_, self.intercepts_, ACTIVATIONS[self.activation], self._cost()
        )

    def _feedforward(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        return self._network().feedforward(X)

    def _validate_training_data(
        self,
        X,
        y,
        sample_weight,
        X_val,
        y_val,
        *,
        continuing,
        classes=None,
        incremental=False,
    ):
        """Check everything before any state changes; return (train, validation).

        Each is a tuple (X, Y, sample_weight, y) with Y the one-hot (or
        indicator) targets in X's dtype; validation is None without
        validation data.
        """
        hidden = np.atleast_1d(self.hidden_layer_sizes)
        if hidden.ndim != 1 or not all(
            isinstance(size, Integral) and size > 0 for size in hidden.tolist()
        ):
            raise ValueError(
                "hidden_layer_sizes must be a positive int or a sequence of positive "
                f"ints, one per hidden layer; got {self.hidden_layer_sizes!r}."
            )
        monitor = set(self.monitor or ())
        unknown = monitor - set(MONITORS)
        if unknown:
            raise ValueError(
                f"monitor has unknown entries {sorted(unknown)}; "
                f"valid ones are {list(MONITORS)}."
            )
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=not continuing,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if continuing:
            self._check_known_classes(y, "y")
            X = X.astype(self.coefs_[0].dtype, copy=False)
        else:
            if incremental and classes is None and y.ndim == 1:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit: all "
                    "the labels any later call may hold, e.g. np.unique(y_all)."
                )
            self._fit_label_binarizer(y, classes)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
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
                multi_output=True,
                dtype=X.dtype,
                reset=False,
            )
            if y_val.ndim == 2 and y_val.shape[1] == 1:
                y_val = column_or_1d(y_val)
            self._check_known_classes(y_val, "y_val")
            train = (X, y, sample_weight)
            validation = (X_val, y_val, None)
        elif self.validation_fraction is not None and not incremental:
            train, validation = self._split_validation(X, y, sample_weight)
        elif needs_validation:
            raise ValueError(
                "early_stopping and learning_rate_schedule='halving' watch the "
                "validation accuracy, so they need validation data: set "
                "validation_fraction (e.g. 0.1), or pass X_val and y_val to fit."
            )
        else:
            train, validation = (X, y, sample_weight), None
        return self._with_targets(train), (
            None if validation is None else self._with_targets(validation)
        )

    def _fit_label_binarizer(self, y, classes):
        binarizer = LabelBinarizer()
        is_multilabel = y.ndim == 2
        if is_multilabel and self._has_softmax_output():
            raise ValueError(
                f"cost={self.cost!r} has a softmax output layer, whose outputs sum "
                "to one, so it cannot predict several labels per sample. Use "
                "cost='cross_entropy' or 'quadratic' for multilabel targets."
            )
        binarizer.fit(y if classes is None or is_multilabel else classes)
        if not is_multilabel and classes is not None:
            unseen = np.setdiff1d(unique_labels(y), binarizer.classes_)
            if unseen.size:
                raise ValueError(
                    f"y holds {unseen.tolist()}, which are not in classes="
                    f"{binarizer.classes_.tolist()}."
                )
        if len(binarizer.classes_) < 2:
            raise ValueError(
                "MLPClassifierBook needs samples of at least 2 classes to learn "
                f"from; y holds only one class: {binarizer.classes_.tolist()}."
            )
        self._label_binarizer = binarizer
        self.classes_ = binarizer.classes_

    def _check_known_classes(self, y, name):
        if self._is_multilabel():
            if y.ndim != 2 or y.shape[1] != len(self.classes_):
                raise ValueError(
                    f"{name} must be an indicator matrix with {len(self.classes_)} "
                    "columns, like the y the model was fitted with."
                )
            return
        unknown = np.setdiff1d(unique_labels(y), self.classes_)
        if unknown.size:
            raise ValueError(
                f"{name} holds classes {unknown.tolist()} that the model was not "
                f"fitted with; its classes are {self.classes_.tolist()}. Refit "
                "without warm_start to change them."
            )

    def _split_validation(self, X, y, sample_weight):
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        _, counts = np.unique(y, return_counts=True, axis=0)
        stratify = y if y.ndim == 1 and counts.min() >= 2 else None
        train_rows, validation_rows = train_test_split(
            np.arange(X.shape[0]),
            test_size=self.validation_fraction,
            random_state=seed,
            stratify=stratify,
        )
        if sample_weight is None:
            return (X[train_rows], y[train_rows], None), (
                X[validation_rows],
                y[validation_rows],
                None,
            )
        return (X[train_rows], y[train_rows], sample_weight[train_rows]), (
            X[validation_rows],
            y[validation_rows],
            sample_weight[validation_rows],
        )

    def _with_targets(self, data):
        """Add the network's targets Y: one output per class (or label) in X's dtype.

        The labels were checked against ``classes_`` already, so each one's
        column is its position in the sorted ``classes_``.
        """
        X, y, sample_weight = data
        if self._is_multilabel():
            Y = np.asarray(y, dtype=X.dtype)
        else:
            Y = np.zeros((len(y), len(self.classes_)), X.dtype)
            Y[np.arange(len(y)), np.searchsorted(self.classes_, y)] = 1
        return X, Y, sample_weight, y

    def _initialize(self, n_features, n_outputs, dtype):
        self._rng = np.random.default_rng(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        hidden = np.atleast_1d(self.hidden_layer_sizes).tolist()
        layer_sizes = [n_features, *hidden, n_outputs]
        initializer = _resolve(self.initializer, INITIALIZERS)
        self.coefs_, self.intercepts_ = [], []
        for n_in, n_out in itertools.pairwise(layer_sizes):
            weights, biases = initializer(n_in, n_out, self._rng, dtype)
            self.coefs_.append(np.ascontiguousarray(weights, dtype=dtype))
            self.intercepts_.append(np.ascontiguousarray(biases, dtype=dtype))
        self.n_layers_ = len(layer_sizes)
        self.n_outputs_ = n_outputs
        self.out_activation_ = self._cost().output_activation.name
        self.n_iter_ = 0
        self.history_ = []
        self._optimizer = None

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
                        self.n_iter_no_change, self.min_learning_rate_ratio
                    ),
                )
            )
        elif not incremental and self.early_stopping:
            hooks.append(("early_stopping", EarlyStopping(self.n_iter_no_change)))
        hooks.extend(("callback", as_hook(c)) for c in self.callbacks or ())
        return hooks

    def _monitored(self, validation, incremental):
        wanted = set(self.monitor or ())
        if validation is None:
            return {m for m in wanted if not m.startswith("validation")}
        if not incremental and (
            self.early_stopping or self.learning_rate_schedule == "halving"
        ):
            wanted.add("validation_accuracy")
        return wanted

    def _train(self, train, validation, *, epochs, incremental=False):
        """Run up to ``epochs`` epochs, recording, checking and calling hooks after each.

        Whatever stops training (the epoch budget, a hook, divergence,
        Ctrl-C), the model is left usable, with the weights of a completed,
        finite epoch.
        """
        X, Y, sample_weight, y = train
        hooks = self._epoch_hooks(incremental)
        if not hasattr(self, "coefs_") or not (self.warm_start or incremental):
            self._initialize(X.shape[1], Y.shape[1], X.dtype)
        n = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        regularizer = _resolve(self.regularizer, REGULARIZERS)
        if self._optimizer is None:
            self._optimizer = SGD(regularizer, self.lmbda, n, self.momentum)
        optimizer = self._optimizer
        optimizer.regularizer, optimizer.lmbda = regularizer, self.lmbda
        optimizer.n_samples, optimizer.momentum = n, self.momentum
        self.learning_rate_ = self.learning_rate
        self.best_epoch_ = None
        network = self._network()
        batch_size = min(self.batch_size, X.shape[0])
        monitored = self._monitored(validation, incremental)
        monitors_cost = any(name.endswith("_cost") for name in monitored)
        sklearn_callbacks = SklearnCallbackBridge(self, X, y, sample_weight, epochs)
        multilabel = self._is_multilabel()
        stop_reason = "epochs"
        for _ in range(epochs):
            epoch = self.n_iter_ + 1
            last_good = [p.copy() for p in self._parameters()]
            sklearn_callbacks.begin_epoch()
            started = time.perf_counter()
            try:
                with np.errstate(over="ignore", invalid="ignore"):
                    network.train_epoch(
                        X,
                        Y,
                        optimizer,
                        batch_size=batch_size,
                        learning_rate=self.learning_rate_,
                        rng=self._rng,
                        dropout=self.dropout,
                        sample_weight=sample_weight,
                        shuffle=self.shuffle,
                    )
            except KeyboardInterrupt:
                self._restore(last_good)
                sklearn_callbacks.end_epoch()
                warnings.warn(
                    f"Training interrupted during epoch {epoch}; the model keeps "
                    f"the weights of epoch {epoch - 1} and is ready to use.",
                    TrainingInterruptedWarning,
                    stacklevel=3,
                )
                stop_reason = "interrupted"
                break
            record = {
                "epoch": epoch,
                "learning_rate": self.learning_rate_,
                "time": time.perf_counter() - started,
            }
            with np.errstate(over="ignore", invalid="ignore"):
                penalty = (
                    regularizer.penalty(self.coefs_, self.lmbda, n)
                    if monitors_cost
                    else 0.0
                )
                record.update(
                    measure(
                        network,
                        (X, Y, sample_weight),
                        monitored,
                        prefix="training",
                        penalty=penalty,
                        multilabel=multilabel,
                    )
                )
                if validation is not None:
                    record.update(
                        measure(
                            network,
                            validation[:3],
                            monitored,
                            prefix="validation",
                            penalty=penalty,
                            multilabel=multilabel,
                        )
                    )
            self.history_.append(record)
            self.n_iter_ = epoch
            if self._diverged(record):
                record["diverged"] = True
                self._restore(last_good)
                sklearn_callbacks.end_epoch()
                cost = record.get("training_cost", "non-finite weights")
                warnings.warn(
                    f"Training diverged in epoch {epoch}: the cost became {cost}. "
                    f"The weights of epoch {epoch - 1} are kept. Try a smaller "
                    f"learning_rate (now {self.learning_rate_:g}).",
                    DivergenceWarning,
                    stacklevel=3,
                )
                stop_reason = "diverged"
                break
            stops = [
                reason for reason, hook in hooks if hook.on_epoch_end(self, record)
            ]
            if sklearn_callbacks.end_epoch():
                stops.append("callback")
            if stops:
                stop_reason = stops[0]
                break
        for _, hook in hooks:
            if hasattr(hook, "on_train_end"):
                hook.on_train_end(self)
        sklearn_callbacks.end_fit()
        self.stop_reason_ = stop_reason

    def _diverged(self, record):
        costs = [v for k, v in record.items() if k.endswith("_cost")]
        return not (
            np.isfinite(costs).all()
            and all(np.isfinite(p).all() for p in self._parameters())
        )

    def _restore(self, saved):
        for param, kept in zip(self._parameters(), saved):
            np.copyto(param, kept)
