"""MLPRegressorBook: the book's network for real-valued targets.

The network, its training and every hyperparameter come from
:class:`sknn._base.BaseMLPBook`, shared with the classifier; this module adds
what is specific to regression: real targets (one or several outputs), linear
output neurons with the quadratic cost, standardized targets, R^2.
"""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils import column_or_1d

from ._base import BaseMLPBook
from ._features import HiddenFeaturesMixin
from ._monitoring import REGRESSION_MONITORS
from ._sklearn_private import HasMethods, StrOptions, _fit_context
from .costs import CrossEntropyCost, LinearQuadraticCost, QuadraticCost
from .diagnostics import DIAGNOSTICS
from .persistence import JSONPersistenceMixin

__all__ = ["MLPRegressorBook"]

_COSTS = {
    ("quadratic", "identity"): LinearQuadraticCost,
    ("quadratic", "sigmoid"): QuadraticCost,
    ("cross_entropy", "sigmoid"): CrossEntropyCost,
}


class MLPRegressorBook(
    JSONPersistenceMixin, HiddenFeaturesMixin, RegressorMixin, BaseMLPBook
):
    """The book's feedforward network as a regressor, trained by mini-batch SGD.

    The same network, training loop and hyperparameters as
    :class:`sknn.MLPClassifierBook` (history, validation data, early stopping,
    the halving schedule, callbacks, Ctrl-C and divergence handling), with
    the quadratic cost C = 1/2n sum_x ||y(x) - a^L(x)||^2 (eq. 6; eq. 86 with
    the L2 term) over linear output neurons, one per target. ``score`` is
    R^2.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(30,)
        Neurons in each hidden layer.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        The hidden neurons (eq. 3 for the sigmoid).
    cost : {"quadratic", "cross_entropy"} or object, default="quadratic"
        The cost C_0. "quadratic" (eq. 6) works with either output layer;
        "cross_entropy" (eq. 63) needs sigmoid outputs and targets in [0, 1].
        An object with ``output_activation``, ``fn`` and ``delta`` (see
        :mod:`sknn.costs`) is used as given, and decides the output layer.
    output_activation : {"identity", "sigmoid"}, default="identity"
        The output neurons: linear (a = z, output error a - y, no
        saturation), or sigmoid for targets that lie in [0, 1].
    scale_targets : bool, default=True
        With linear outputs, train on the standardized targets
        (y - mean) / std of each output, and map predictions back; the costs
        in ``history_`` are then in those standardized units. It lets one
        learning rate suit targets of any scale. Sigmoid outputs train on y as
        given.
    regularizer : {"l2", "l1", "none"} or object, default="l2"
        The penalty on the weights: L2 (eq. 85-93) or L1 (eq. 95-97).
    lmbda : float, default=0.1
        The regularization parameter lambda, divided by the training-set size
        n (the sum of the sample weights) as in the book.
    learning_rate : float or "auto", default="auto"
        The learning rate eta (eq. 20-21); "auto" as for the classifier,
        x 1/10 for linear outputs, whose output error is not bounded (0.05
        for sigmoid hidden neurons).
    batch_size : int, default=10
        The mini-batch size m.
    epochs : int, default=30
        The most passes over the training data a ``fit`` makes.
    dropout : float, default=0.0
        The fraction of hidden neurons dropped in each mini-batch while
        training (inverted dropout), in [0, 1).
    initializer : {"default", "large", "he"} or callable, default="default"
        How the first weights are drawn; see :mod:`sknn.initializers`.
    momentum : float, default=0.0
        The momentum coefficient mu in [0, 1).
    monitor : tuple of str, default=("training_cost", "validation_r2")
        What ``history_`` records after each epoch, among "training_cost",
        "training_r2", "validation_cost" and "validation_r2"; each costs one
        forward pass over its data set. Validation entries need validation
        data. The diagnostics "gradient_norms", "unit_saturation" and
        "weight_norms" (see :mod:`sknn.diagnostics`) add per-layer entries.
    validation_fraction : float or None, default=None
        Hold out this fraction of the training data (seeded by
        ``random_state``) as validation data, unless ``fit`` is given
        ``X_val`` and ``y_val``.
    validation_metric : {"r2", "cost"}, default="r2"
        What early stopping and the halving schedule watch on the validation
        data: R^2 (higher is better) or the cost (lower is better).
    early_stopping : bool, default=False
        Stop when ``validation_metric`` has not improved for
        ``n_iter_no_change`` epochs and restore the best epoch's weights.
    n_iter_no_change : int, default=10
        The n of "no-improvement-in-n", for early stopping and the schedule.
    learning_rate_schedule : {"constant", "halving"}, default="constant"
        "halving" halves eta each time ``validation_metric`` has not improved
        for ``n_iter_no_change`` epochs, and stops once eta falls below
        ``learning_rate * min_learning_rate_ratio``.
    min_learning_rate_ratio : float, default=1/128
        The fraction of eta0 below which the halving schedule stops.
    callbacks : list or None, default=None
        Functions ``f(estimator, record)`` or objects with
        ``on_epoch_end(estimator, record)``, called after each epoch; see
        :mod:`sknn.callbacks`.
    shuffle : bool, default=True
        Shuffle the training data before each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds all randomness; the same seed gives the same model.
    warm_start : bool, default=False
        Continue from the previous fit's weights (and target scaling).
    verbose : bool, default=False
        Print one line per epoch with what is monitored.

    Attributes
    ----------
    coefs_ : list of ndarray of shape (n_in, n_out)
        The weights of each layer, oriented as scikit-learn's MLPRegressor's.
    intercepts_ : list of ndarray of shape (n_out,)
        The biases of each layer.
    target_mean_ : ndarray of shape (n_outputs_,)
        The mean subtracted from each target before training (0 without
        scaling).
    target_scale_ : ndarray of shape (n_outputs_,)
        The standard deviation each target was divided by (1 without
        scaling, or for a constant target).
    history_ : list of dict
        One record per epoch: "epoch", "learning_rate", "time" and what
        ``monitor`` asks for.
    loss_curve_ : list of float
        The "training_cost" of each epoch of ``history_``.
    initial_cost_ : float
        The training cost before the last fit's first step (with the
        regularization term, on the scaled targets), measured on at most 1024
        evenly spaced training rows, as for :class:`sknn.MLPClassifierBook`.
    n_iter_ : int
        Epochs run, over all fits of this model.
    learning_rate_ : float
        The learning rate at the end of training ("auto" resolved).
    best_epoch_ : int or None
        With early stopping or the halving schedule, the epoch whose weights
        were restored.
    stop_reason_ : str
        Why the last fit stopped, as for :class:`sknn.MLPClassifierBook`;
        "failed_to_learn" when the model is no better than predicting the
        mean (R^2 <= 0 on the training data).
    n_layers_ : int
        Layers, counting input and output.
    n_outputs_ : int
        Output neurons: one per target.
    out_activation_ : str
        The output layer's activation: "identity" or "sigmoid".
    n_features_in_ : int
        Features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen in ``fit``, when X had string column names.

    See Also
    --------
    sknn.MLPClassifierBook : The same network for classification.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sknn import MLPRegressorBook
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1, random_state=0)
    >>> reg = MLPRegressorBook(epochs=20, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    """

    _MONITORS = REGRESSION_MONITORS + DIAGNOSTICS

    _parameter_constraints = {
        **BaseMLPBook._parameter_constraints,
        "cost": [
            StrOptions({"quadratic", "cross_entropy"}),
            HasMethods(["fn", "delta"]),
        ],
        "output_activation": [StrOptions({"identity", "sigmoid"})],
        "scale_targets": ["boolean"],
        "validation_metric": [StrOptions({"r2", "cost"})],
    }

    def __init__(
        self,
        hidden_layer_sizes=(30,),
        *,
        activation="sigmoid",
        cost="quadratic",
        output_activation="identity",
        scale_targets=True,
        regularizer="l2",
        lmbda=0.1,
        learning_rate="auto",
        batch_size=10,
        epochs=30,
        dropout=0.0,
        initializer="default",
        momentum=0.0,
        monitor=("training_cost", "validation_r2"),
        validation_fraction=None,
        validation_metric="r2",
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
        super().__init__(
            hidden_layer_sizes,
            activation=activation,
            cost=cost,
            regularizer=regularizer,
            lmbda=lmbda,
            learning_rate=learning_rate,
            batch_size=batch_size,
            epochs=epochs,
            dropout=dropout,
            initializer=initializer,
            momentum=momentum,
            monitor=monitor,
            validation_fraction=validation_fraction,
            early_stopping=early_stopping,
            n_iter_no_change=n_iter_no_change,
            learning_rate_schedule=learning_rate_schedule,
            min_learning_rate_ratio=min_learning_rate_ratio,
            callbacks=callbacks,
            shuffle=shuffle,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
        )
        self.output_activation = output_activation
        self.scale_targets = scale_targets
        self.validation_metric = validation_metric

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None):
        """Train the network for at most ``epochs`` epochs of mini-batch SGD.

        A fit is a transaction: if anything fails, the estimator is left
        exactly as it was.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. float32 input is trained in float32.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Real targets, one column per output.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights with a positive sum; each mini-batch's
            gradient is the weighted mean of its samples' gradients.
        X_val, y_val : array-like, default=None
            Validation data for monitoring, early stopping and the schedule,
            instead of a ``validation_fraction`` split.

        Returns
        -------
        self : MLPRegressorBook
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, X_val, y_val, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train the network for one epoch over ``X``, from its current weights.

        The first call fixes the target scaling from its ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Real targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.

        Returns
        -------
        self : MLPRegressorBook
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, None, None, incremental=True)

    def predict(self, X):
        """Predict the targets: the output activations, mapped back to y's scale.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input rows.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            One column per output; 1-D for a single output, as scikit-learn's
            MLPRegressor returns.
        """
        output = self._feedforward(X)
        output *= self.target_scale_.astype(output.dtype)
        output += self.target_mean_.astype(output.dtype)
        return output.ravel() if output.shape[1] == 1 else output

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    # --- what BaseMLPBook asks of a regressor --------------------------------

    def _resolved_cost(self):
        if not isinstance(self.cost, str):
            return self.cost
        key = (self.cost, self.output_activation)
        if key not in _COSTS:
            raise ValueError(
                f"cost={self.cost!r} needs sigmoid outputs, whose values lie in "
                "(0, 1) like its targets; set output_activation='sigmoid', or use "
                "cost='quadratic'."
            )
        return _COSTS[key]

    def _plateau_watch(self):
        return f"validation_{self.validation_metric}"

    def _check_targets(self, y, *, continuing, classes, incremental, name):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=name == "y")
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"{name} must hold real numbers for a regressor: {error}"
            ) from None
        Y = y.reshape(len(y), -1)
        output = self._resolved_cost().output_activation.name
        if output == "sigmoid" and Y.size and (Y.min() < 0 or Y.max() > 1):
            raise ValueError(
                f"{name} holds values from {Y.min():g} to {Y.max():g}, but sigmoid "
                "outputs lie in (0, 1): scale the targets into [0, 1] (e.g. "
                "MinMaxScaler), or use output_activation='identity'."
            )
        if continuing:
            if Y.shape[1] != len(self.target_mean_):
                raise ValueError(
                    f"{name} has {Y.shape[1]} outputs, but the model was fitted "
                    f"with {len(self.target_mean_)}. Refit without warm_start to "
                    "change them."
                )
            return y
        if self.scale_targets and output == "identity":
            scale = Y.std(axis=0)
            self.target_mean_ = Y.mean(axis=0)
            self.target_scale_ = np.where(scale > 0, scale, 1.0)
        else:
            self.target_mean_ = np.zeros(Y.shape[1])
            self.target_scale_ = np.ones(Y.shape[1])
        return y

    def _targets(self, y, dtype):
        Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        return ((Y - self.target_mean_) / self.target_scale_).astype(dtype)

    def _n_outputs(self):
        return len(self.target_mean_)

    def _learning_failure(self, outputs, Y, sample_weight):
        if not np.all(np.ptp(Y, axis=0) > 0):
            return None
        r2 = r2_score(Y, outputs, sample_weight=sample_weight)
        if r2 > 0:
            return None
        return (
            f"The trained model's R^2 on the training data is {r2:.3g}: no better "
            "than always predicting the mean, so it did not learn. Try a smaller "
            "learning_rate (or learning_rate='auto'), more epochs, or scaled inputs."
        )
