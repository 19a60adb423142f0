"""MLPClassifierBook: the book's network as a scikit-learn classifier."""

import itertools
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._network import Network
from .activations import ACTIVATIONS
from .costs import COSTS
from .initializers import INITIALIZERS
from .optimizers import SGD
from .regularizers import REGULARIZERS


class DivergenceWarning(ConvergenceWarning):
    """Training stopped because the cost or the weights stopped being finite."""


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


class MLPClassifierBook(ClassifierMixin, BaseEstimator):
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
        The regularization parameter lambda. It is divided by the training-set
        size n (the sum of the sample weights), as in the book, so the same
        lambda means less regularization on more data.
    learning_rate : float, default=0.5
        The learning rate eta (eq. 20-21), > 0.
    batch_size : int, default=10
        The mini-batch size m; the last mini-batch of an epoch may be smaller.
    epochs : int, default=30
        Passes over the training data.
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
    shuffle : bool, default=True
        Shuffle the training data before each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds all randomness: the initial weights, the shuffles and the
        dropout masks. The same seed gives the same model.
    warm_start : bool, default=False
        Continue from the previous fit's weights (and momentum velocities)
        instead of starting afresh.
    verbose : bool, default=False
        Print the training cost after each epoch, as network2.py does.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    coefs_ : list of ndarray of shape (n_in, n_out)
        The weights of each layer, oriented as scikit-learn's MLPClassifier's.
    intercepts_ : list of ndarray of shape (n_out,)
        The biases of each layer.
    n_iter_ : int
        Epochs run, over all fits of this model (warm starts add to it).
    loss_curve_ : list of float
        The training cost after each epoch, including the regularization term
        (network2.py's ``total_cost``).
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
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network for ``epochs`` epochs of mini-batch SGD.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. float32 input is trained in float32.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multilabel indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Each mini-batch's gradient is the weighted mean of its samples'
            gradients, and n in lambda / n is the sum of the weights.

        Returns
        -------
        self : MLPClassifierBook
        """
        continuing = self.warm_start and hasattr(self, "coefs_")
        with _state_restored_on_error(self):
            X, Y, sample_weight = self._validate_training_data(
                X, y, sample_weight, continuing=continuing, classes=None
            )
            if not continuing:
                self._rng = np.random.default_rng(
                    check_random_state(self.random_state).randint(
                        np.iinfo(np.int32).max
                    )
                )
                self._initialize(X.shape[1], Y.shape[1], X.dtype)
        self._train(X, Y, sample_weight, epochs=self.epochs)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train the network for one epoch over ``X``, starting from its current weights.

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
            X, Y, sample_weight = self._validate_training_data(
                X, y, sample_weight, continuing=continuing, classes=classes
            )
            if not continuing:
                self._rng = np.random.default_rng(
                    check_random_state(self.random_state).randint(
                        np.iinfo(np.int32).max
                    )
                )
                self._initialize(X.shape[1], Y.shape[1], X.dtype)
        self._train(X, Y, sample_weight, epochs=1)
        return self

    def predict(self, X):
        """Predict the class of each row: the output neuron with the largest activation.

        For multilabel targets, every label whose output exceeds 0.5.
        """
        output = self._feedforward(X)
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            return self._label_binarizer.inverse_transform(output, threshold=0.5)
        return self.classes_[np.argmax(output, axis=1)]

    def predict_proba(self, X):
        """Class probabilities: the output activations, normalised to sum to one per row.

        Softmax outputs are probabilities already; sigmoid outputs (quadratic
        and cross-entropy costs) are divided by their row sum. For multilabel
        targets, each label's sigmoid output is its own probability.
        """
        output = self._feedforward(X)
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            return output
        row_sums = output.sum(axis=1, keepdims=True)
        uniform = row_sums == 0
        return np.where(
            uniform, 1.0 / output.shape[1], output / np.where(uniform, 1, row_sums)
        )

    def predict_log_proba(self, X):
        """The logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = (
            self._cost().output_activation.name != "softmax"
        )
        return tags

    def _cost(self):
        return _resolve(self.cost, COSTS)

    def _network(self):
        return Network(
            self.coefs_,
            self.intercepts_,
            ACTIVATIONS[self.activation],
            self._cost(),
        )

    def _feedforward(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        return self._network().feedforward(X.astype(self.coefs_[0].dtype, copy=False))

    def _validate_training_data(self, X, y, sample_weight, *, continuing, classes):
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
            new_classes = unique_labels(y)
            if not np.isin(new_classes, self.classes_).all():
                raise ValueError(
                    f"y holds classes {sorted(set(new_classes) - set(self.classes_))} "
                    f"that the model was not fitted with; its classes are "
                    f"{self.classes_.tolist()}. Refit without warm_start to change them."
                )
            X = X.astype(self.coefs_[0].dtype, copy=False)
        else:
            binarizer = LabelBinarizer()
            is_multilabel = y.ndim == 2
            if is_multilabel and self._cost().output_activation.name == "softmax":
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
        Y = self._label_binarizer.transform(y).astype(X.dtype)
        if Y.shape[1] == 1:
            Y = np.hstack([1 - Y, Y])
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        return X, Y, sample_weight

    def _initialize(self, n_features, n_outputs, dtype):
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
        self.loss_curve_ = []
        self._optimizer = None

    def _train(self, X, Y, sample_weight, *, epochs):
        """Run ``epochs`` epochs, keeping the last epoch whose weights stayed finite."""
        n = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        regularizer = _resolve(self.regularizer, REGULARIZERS)
        if self._optimizer is None:
            self._optimizer = SGD(regularizer, self.lmbda, n, self.momentum)
        optimizer = self._optimizer
        optimizer.regularizer, optimizer.lmbda = regularizer, self.lmbda
        optimizer.n_samples, optimizer.momentum = n, self.momentum
        network = self._network()
        batch_size = min(self.batch_size, X.shape[0])
        for _ in range(epochs):
            last_good = [p.copy() for p in self.coefs_ + self.intercepts_]
            with np.errstate(over="ignore", invalid="ignore"):
                network.train_epoch(
                    X,
                    Y,
                    optimizer,
                    batch_size=batch_size,
                    learning_rate=self.learning_rate,
                    rng=self._rng,
                    dropout=self.dropout,
                    sample_weight=sample_weight,
                    shuffle=self.shuffle,
                )
                cost = network.mean_cost(X, Y, sample_weight) + regularizer.penalty(
                    self.coefs_, self.lmbda, n
                )
            epoch = self.n_iter_ + 1
            if not (
                np.isfinite(cost) and all(np.isfinite(w).all() for w in self.coefs_)
            ):
                for kept, saved in zip(self.coefs_ + self.intercepts_, last_good):
                    np.copyto(kept, saved)
                warnings.warn(
                    f"Training diverged in epoch {epoch}: the cost became {cost}. "
                    f"The weights of the last finite epoch ({epoch - 1}) are kept. "
                    f"Try a smaller learning_rate (now {self.learning_rate}).",
                    DivergenceWarning,
                    stacklevel=3,
                )
                break
            self.n_iter_ = epoch
            self.loss_curve_.append(cost)
            if self.verbose:
                print(
                    f"Epoch {epoch} training complete; cost on training data: {cost:.4f}"
                )
