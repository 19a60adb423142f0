"""MLPClassifierBook: the book's network as a scikit-learn classifier.

The fit transaction, the epoch loop and the health checks live in
:mod:`sknn._base`; this module adds what is specific to classes: labels and
their one-hot targets, ``classes_``, accuracy and probabilities.
"""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils.multiclass import check_classification_targets, unique_labels

from ._base import BaseMLPBook, TrainingInterruptedWarning
from ._features import HiddenFeaturesMixin
from ._fit_checks import _resolve
from ._health import DivergenceWarning, FailedToLearnWarning
from ._monitoring import count_correct
from ._sklearn_private import _fit_context
from .costs import COSTS
from .persistence import JSONPersistenceMixin

__all__ = [
    "DivergenceWarning",
    "FailedToLearnWarning",
    "MLPClassifierBook",
    "TrainingInterruptedWarning",
]


class MLPClassifierBook(
    JSONPersistenceMixin, HiddenFeaturesMixin, ClassifierMixin, BaseMLPBook
):
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
    learning_rate : float or "auto", default="auto"
        The learning rate eta (eq. 20-21), > 0; eta0 for the schedule. A
        number is used exactly as given. "auto" is the book's 0.5 for
        sigmoid hidden neurons with the cross-entropy or log-likelihood cost,
        x 2 for the quadratic cost (whose sigma' factor shrinks the output
        error), x 1/5 for tanh or ReLU hidden neurons (larger derivatives,
        unbounded activations), all times (1 - momentum) so that the
        effective step eta / (1 - mu) stays the same. With it every
        activation, cost, momentum and dropout learns at the defaults.
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
        Costs include the regularization term with lambda divided by the size
        of the data set measured, as network2.py's ``total_cost`` does: the
        validation cost divides by the validation set's size. Divergence is
        detected whatever is monitored. The diagnostics "gradient_norms",
        "unit_saturation" and "weight_norms" (chapter 5's vanishing gradient;
        see :mod:`sknn.diagnostics`) add per-layer entries measured on at most
        1,000 training rows.
    validation_fraction : float or None, default=None
        Hold out this fraction of the training data (stratified by class,
        seeded by ``random_state``, sample weights kept with their rows) as
        validation data; it must leave room for every class on both sides.
        Ignored when ``fit`` is given ``X_val`` and ``y_val``.
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
        return value (or a ``Decision``) stops training. Objects are reset by
        their ``on_train_begin`` at the start of every fit. scikit-learn's own callbacks
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
        "validation_accuracy", ..., with ``"*_correct"`` and ``"*_size"`` counts for
        accuracies). ``pandas.DataFrame(clf.history_)`` makes it a table.
        When training diverges, the last record is the epoch that diverged,
        marked ``"diverged": True``, and the weights are those of the epoch
        before it.
    loss_curve_ : list of float
        The "training_cost" of each epoch of ``history_`` (NaN where it was
        not monitored), like scikit-learn's MLPClassifier's.
    initial_cost_ : float
        The training cost before the last fit's first step, the "epoch 0" where
        the book's cost plots start: the cost of the initial weights (or, with
        ``warm_start`` and ``partial_fit``, of the weights the fit started
        from) plus the regularization term, as ``"training_cost"`` in
        ``history_`` counts it. Measured on at most 1024 evenly spaced
        training rows (all of them on smaller data) whatever ``monitor`` says,
        so a few epochs are enough to see whether a learning rate makes the
        cost fall.
    n_iter_ : int
        Epochs run, over all fits of this model (warm starts add to it); it
        counts an epoch that diverged, whose weights were not kept.
    learning_rate_ : float
        The learning rate at the end of training ("auto" resolved). When the
        halving schedule stops training, it is the first rate below the
        floor, never used.
    best_epoch_ : int or None
        With early stopping or the halving schedule, the epoch whose weights
        were restored.
    stop_reason_ : str
        Why the last fit stopped: "epochs", "early_stopping",
        "learning_rate_floor", "callback", "diverged" (with a
        ``DivergenceWarning``) or "interrupted" (Ctrl-C; the
        ``KeyboardInterrupt`` is raised again). A run that ended but did not
        learn is "dead_units" (a hidden layer passes no gradient) or
        "failed_to_learn" (no better than always predicting the majority
        class), each with a ``FailedToLearnWarning``; never "epochs".
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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None):
        """Train the network for at most ``epochs`` epochs of mini-batch SGD.

        A fit is a transaction: everything is checked before training, and if
        anything fails after that, the estimator is left exactly as it was
        and the exception is raised. Ctrl-C keeps the last completed epoch,
        warns, and raises the ``KeyboardInterrupt`` again.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. float32 input is trained in float32.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multilabel indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights with a positive sum. Each mini-batch's
            gradient is the weighted mean of its samples' gradients, and n in
            lambda / n is the sum of the weights.
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
        return self._fit(X, y, sample_weight, X_val, y_val, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train the network for one epoch over ``X``, from its current weights.

        Early stopping and the schedule do not apply: they need the epochs
        that a single call does not see. Like ``fit``, a call that fails
        leaves the model as it was.

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
        return self._fit(
            X, y, sample_weight, None, None, classes=classes, incremental=True
        )

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        cost = self.__dict__.get("_fitted_cost") or COSTS.get(self.cost, self.cost)
        output = getattr(cost, "output_activation", None)
        tags.classifier_tags.multi_label = getattr(output, "name", "") != "softmax"
        return tags

    # --- what BaseMLPBook asks of a classifier -------------------------------

    def _check_targets(self, y, *, continuing, classes, incremental, name):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=name == "y")
        check_classification_targets(y)
        if continuing:
            self._check_known_classes(y, name)
            return y
        if incremental and classes is None and y.ndim == 1:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: all "
                "the labels any later call may hold, e.g. np.unique(y_all)."
            )
        self._fit_label_binarizer(y, classes)
        return y

    def _targets(self, y, dtype):
        """One output per class (or label) in ``dtype``: one-hot from the sorted ``classes_``."""
        if self._is_multilabel():
            return np.asarray(y, dtype=dtype)
        Y = np.zeros((len(y), len(self.classes_)), dtype)
        Y[np.arange(len(y)), np.searchsorted(self.classes_, y)] = 1
        return Y

    def _n_outputs(self):
        return len(self.classes_)

    def _stratify_labels(self, y):
        return y if y.ndim == 1 else None

    def _count_correct(self, outputs, Y):
        return count_correct(outputs, Y, self._is_multilabel())

    def _learning_failure(self, outputs, Y, sample_weight):
        if self._is_multilabel():
            return None
        weights = np.ones(len(Y)) if sample_weight is None else sample_weight
        right = outputs.argmax(axis=1) == Y.argmax(axis=1)
        accuracy = float(np.average(right, weights=weights))
        class_shares = weights @ Y / weights.sum()
        majority = float(class_shares.max())
        if accuracy > majority + 1e-9 or majority == 1.0:
            return None
        return (
            f"The trained model is right on {accuracy:.1%} of the training data, "
            f"no better than always predicting the most common class "
            f"({majority:.1%}): it did not learn. Try a smaller learning_rate (or "
            "learning_rate='auto'), more epochs, or scaled inputs."
        )

    # --- classes -------------------------------------------------------------

    def _is_multilabel(self):
        return self._label_binarizer.y_type_ == "multilabel-indicator"

    def _fit_label_binarizer(self, y, classes):
        binarizer = LabelBinarizer()
        is_multilabel = y.ndim == 2
        cost = _resolve(self.cost, COSTS)
        if is_multilabel and cost.output_activation.name == "softmax":
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
