"""What a fit trains on: data, hooks, starting weights, all checked before training.

:meth:`FitPlanMixin._plan` is the first half of the fit transaction of
:mod:`sknn._base`: it checks everything that can be checked (hyperparameters,
data, sample weights, callbacks, the memory the weights need, the
initializer's output; the checks that need no estimator are in
:mod:`sknn._fit_checks`) and returns a :class:`_TrainingPlan` of arrays of the
fit's own. It changes nothing on the estimator, so a check that fails leaves
a fitted model exactly as it was. A warm start (or ``partial_fit``) continues
from copies of the fitted weights, momentum velocities and random generator,
and refuses a change of layers or of neurons that would change what those
weights mean.
"""

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from ._fit_checks import (
    _resolve,
    check_memory,
    check_weight_total,
    checked_hidden_sizes,
    checked_monitor,
    initial_parameters,
)
from ._learning_rate import auto_learning_rate
from ._sklearn_private import _check_sample_weight
from .activations import ACTIVATIONS
from .callbacks import (
    EarlyStopping,
    HalveLearningRateOnPlateau,
    ProgressPrinter,
    as_hook,
)
from .optimizers import SGD
from .regularizers import REGULARIZERS


class _TrainingPlan:
    """What a fit resolved and checked before training: data, objects, weights."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


class FitPlanMixin:
    """The checks before training and the plan they produce, for :class:`BaseMLPBook`.

    Reads the hyperparameters and the subclass's target hooks
    (``_check_targets``, ``_targets``, ``_n_outputs``, ``_stratify_labels``,
    ``_plateau_watch``, ``_resolved_cost``) of the estimator it is mixed into.
    """

    def _plan(self, X, y, sample_weight, X_val, y_val, classes, *, incremental):
        """Check everything that can be checked; return what training needs."""
        continuing = hasattr(self, "coefs_") and (self.warm_start or incremental)
        hidden = checked_hidden_sizes(self.hidden_layer_sizes)
        monitor = checked_monitor(self.monitor, self._MONITORS)
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
            check_weight_total(sample_weight, "sample_weight")
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
            check_memory(layer_sizes, X.dtype, self.hidden_layer_sizes)
            coefs, intercepts = initial_parameters(
                self.initializer, layer_sizes, rng, X.dtype
            )
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
            check_weight_total(
                train[2],
                "sample_weight of the rows left for training after "
                "validation_fraction held out the rest",
            )
        return tuple(train), tuple(validation)

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
