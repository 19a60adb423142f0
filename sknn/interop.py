"""Other formats: the book's network2.py files, scikit-learn's MLPs and skops.

network2.py
    The book's ``Network.save`` writes JSON ``{"sizes", "weights", "biases",
    "cost"}`` with column-vector weights of shape (n_out, n_in) and biases of
    shape (n_out, 1), sigmoid neurons throughout, and the cost's class name
    ("CrossEntropyCost" or "QuadraticCost"). :func:`load_network2` turns such a
    file into a fitted :class:`~sknn.MLPClassifierBook` (whose weights are the
    transposes, shape (n_in, n_out)); :func:`save_network2` writes one that
    network2.py's ``load`` reads.
scikit-learn
    :func:`to_sklearn` and :func:`from_sklearn` convert to and from
    ``sklearn.neural_network.MLPClassifier`` and ``MLPRegressor``: the same weights
    (``coefs_``, ``intercepts_``) and the same probabilities where the output
    layers correspond (see :func:`to_sklearn` for which do).
skops
    :data:`SKOPS_TRUSTED_TYPES` lists the types a fitted sknn estimator holds,
    so that ``skops.io.load(path, trusted=SKOPS_TRUSTED_TYPES)`` needs no
    ``trusted=True``.

Only the network is converted: training hyperparameters (learning rate,
regularization, solver) have no exact counterpart across these libraries, so
the converted estimator gets its own defaults for them, and a fresh
``history_``.
"""

import itertools
import json
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import is_regressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.utils.validation import check_is_fitted

from ._classifier import MLPClassifierBook
from ._regressor import MLPRegressorBook
from .activations import ACTIVATIONS, Identity, Softmax
from .costs import COSTS, LinearQuadraticCost
from .optimizers import SGD
from .persistence import ModelFileError, assemble_fitted
from .regularizers import REGULARIZERS

__all__ = [
    "SKOPS_TRUSTED_TYPES",
    "from_sklearn",
    "load_network2",
    "save_network2",
    "to_sklearn",
]

_NETWORK2_COSTS = {"CrossEntropyCost": "cross_entropy", "QuadraticCost": "quadratic"}
_SKLEARN_ACTIVATIONS = {"sigmoid": "logistic", "tanh": "tanh", "relu": "relu"}


def _type_name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


SKOPS_TRUSTED_TYPES = sorted(
    {
        _type_name(cls)
        for cls in (
            MLPClassifierBook,
            MLPRegressorBook,
            SGD,
            Softmax,
            Identity,
            LinearQuadraticCost,
            *REGULARIZERS.values(),
            *COSTS.values(),
            *ACTIVATIONS.values(),
        )
    }
)
"""The sknn types a fitted estimator may hold, for ``skops.io.load(..., trusted=...)``.

They are plain containers of numbers and names, and run no code when skops
rebuilds them.
"""


# --- network2.py ------------------------------------------------------------


def load_network2(path, *, classes=None):
    """Read a network saved by the book's network2.py as a fitted classifier.

    Parameters
    ----------
    path : str or path-like
        A JSON file written by network2.py's ``Network.save``.
    classes : array-like of shape (n_outputs,), default=None
        The label of each output neuron, in order. By default 0, 1, ...,
        n_outputs - 1: the digits for the book's MNIST network.

    Returns
    -------
    MLPClassifierBook
        Sigmoid neurons, the file's cost, and the file's weights transposed
        to shape (n_in, n_out); ``predict`` gives network2.py's
        ``argmax(feedforward(x))`` and ``predict_proba`` its outputs divided by
        their sum. Its ``n_iter_`` is 0 and ``stop_reason_`` "loaded".

    Raises
    ------
    ModelFileError
        If the file is not network2.py's format or its arrays do not fit
        the sizes.
    """
    source = str(path)
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFileError(f"{source} is not valid JSON: {error}.") from None
    if not isinstance(document, dict) or set(document) != {
        "sizes",
        "weights",
        "biases",
        "cost",
    }:
        raise ModelFileError(
            f"{source} is not a network2.py file, whose JSON object has exactly "
            'the keys "sizes", "weights", "biases" and "cost".'
        )
    sizes = document["sizes"]
    if (
        not isinstance(sizes, list)
        or len(sizes) < 2
        or not all(isinstance(n, int) and n > 0 for n in sizes)
    ):
        raise ModelFileError(f"{source}: sizes {sizes!r} are not positive ints.")
    if document["cost"] not in _NETWORK2_COSTS:
        raise ModelFileError(
            f"{source}: cost {document['cost']!r} is not one of network2.py's "
            f"{sorted(_NETWORK2_COSTS)}."
        )
    if sizes[-1] < 2:
        raise ModelFileError(
            f"{source}: a classifier needs an output neuron per class, at least 2; "
            f"this network has {sizes[-1]}."
        )
    n_layers = len(sizes) - 1
    if len(document["weights"]) != n_layers or len(document["biases"]) != n_layers:
        raise ModelFileError(
            f"{source}: sizes {sizes} make {n_layers} layers, but the file has "
            f"{len(document['weights'])} weight matrices and "
            f"{len(document['biases'])} bias vectors."
        )
    coefs, intercepts = [], []
    for layer, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        w = _float_array(document["weights"][layer], f"weights[{layer}]", source)
        b = _float_array(document["biases"][layer], f"biases[{layer}]", source)
        if w.shape != (n_out, n_in) or b.shape != (n_out, 1):
            raise ModelFileError(
                f"{source}: layer {layer} has weights of shape {w.shape} and biases "
                f"of shape {b.shape}; sizes {sizes} call for {(n_out, n_in)} and "
                f"{(n_out, 1)}."
            )
        coefs.append(np.ascontiguousarray(w.T))
        intercepts.append(b[:, 0].copy())
    classes = np.arange(sizes[-1]) if classes is None else np.asarray(classes)
    estimator = MLPClassifierBook(
        hidden_layer_sizes=tuple(sizes[1:-1]),
        activation="sigmoid",
        cost=_NETWORK2_COSTS[document["cost"]],
    )
    return assemble_fitted(
        estimator,
        coefs,
        intercepts,
        n_features_in=sizes[0],
        classes=classes,
    )


def _float_array(values, what, source):
    try:
        array = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelFileError(
            f"{source}: {what} is not a rectangular array of numbers."
        ) from None
    if not np.isfinite(array).all():
        raise ModelFileError(f"{source}: {what} holds non-finite numbers.")
    return array


def save_network2(estimator, path):
    """Write a fitted classifier in network2.py's ``save`` format.

    network2.py's networks have sigmoid neurons in every layer, so only an
    estimator with ``activation="sigmoid"`` and the "cross_entropy" or
    "quadratic" cost can be written. The outputs keep the order of
    ``classes_``; the labels themselves are not part of the format.

    Parameters
    ----------
    estimator : MLPClassifierBook
        A fitted estimator with sigmoid neurons throughout.
    path : str or path-like
        The file to write.

    Raises
    ------
    ValueError
        If the network has neurons network2.py does not.
    """
    check_is_fitted(estimator)
    cost_names = {ours: theirs for theirs, ours in _NETWORK2_COSTS.items()}
    cost = getattr(estimator._fitted_cost, "name", None)
    if estimator.activation != "sigmoid" or cost not in cost_names:
        raise ValueError(
            "network2.py has only sigmoid neurons with the cross-entropy or "
            f"quadratic cost; this network has activation={estimator.activation!r} "
            f"and cost={cost!r} (output {estimator.out_activation_!r})."
        )
    document = {
        "sizes": [int(estimator.coefs_[0].shape[0])]
        + [int(w.shape[1]) for w in estimator.coefs_],
        "weights": [w.T.tolist() for w in estimator.coefs_],
        "biases": [b.reshape(-1, 1).tolist() for b in estimator.intercepts_],
        "cost": cost_names[cost],
    }
    Path(path).write_text(json.dumps(document), encoding="utf-8")


# --- scikit-learn -----------------------------------------------------------


def to_sklearn(estimator):
    """Convert a fitted estimator into scikit-learn's ``MLPClassifier`` or ``MLPRegressor``.

    The weights are copied; the probabilities are the same where the output
    layers correspond:

    - softmax outputs (``cost="log_likelihood"``) with 3 or more classes:
      scikit-learn's softmax output, identical ``predict_proba``;
    - softmax outputs with 2 classes: scikit-learn's single logistic output,
      with weights w_1 - w_0 and bias b_1 - b_0, since
      softmax(z_0, z_1)_1 = sigma(z_1 - z_0); equal up to rounding;
    - multilabel sigmoid outputs: scikit-learn's logistic outputs, identical;
    - a regressor's linear outputs: ``MLPRegressor``'s, with the target
      scaling folded into the output layer (weights times ``target_scale_``,
      biases times it plus ``target_mean_``); equal up to rounding.

    Single-label sigmoid outputs (the "cross_entropy" and "quadratic" costs)
    have no counterpart: sknn divides them by their sum, scikit-learn uses a
    softmax, and no choice of weights makes the two agree, so they are
    refused.

    Parameters
    ----------
    estimator : MLPClassifierBook or MLPRegressorBook
        A fitted estimator with sigmoid, tanh or ReLU hidden neurons.

    Returns
    -------
    sklearn.neural_network.MLPClassifier or sklearn.neural_network.MLPRegressor
        Fitted with these weights; its solver state and ``loss_curve_`` come
        from a one-step fit on placeholder data and mean nothing.

    Raises
    ------
    ValueError
        If the output layer has no scikit-learn counterpart.
    """
    check_is_fitted(estimator)
    coefs = [w.copy() for w in estimator.coefs_]
    intercepts = [b.copy() for b in estimator.intercepts_]
    if is_regressor(estimator):
        return _regressor_to_sklearn(estimator, coefs, intercepts)
    multilabel = estimator._is_multilabel()
    softmax = estimator.out_activation_ == "softmax"
    if not (softmax or multilabel):
        raise ValueError(
            f"The {estimator.out_activation_!r} outputs of a single-label "
            "classifier are divided by their sum to give probabilities, which "
            "scikit-learn's MLPClassifier cannot reproduce (its multiclass output "
            "is a softmax). Train with cost='log_likelihood' to convert."
        )
    if softmax and len(estimator.classes_) == 2:
        coefs[-1] = (coefs[-1][:, 1] - coefs[-1][:, 0])[:, None]
        intercepts[-1] = intercepts[-1][1:] - intercepts[-1][:1]
    dtype = coefs[0].dtype
    n_features = estimator.n_features_in_
    if multilabel:
        placeholder_y = np.eye(len(estimator.classes_), dtype=int)
    else:
        placeholder_y = estimator.classes_
    return _fitted_sklearn(
        MLPClassifier, estimator, coefs, intercepts, placeholder_y, n_features, dtype
    )


def _regressor_to_sklearn(estimator, coefs, intercepts):
    """MLPRegressor with the target scaling folded into the output layer.

    The network predicts z s + m from its linear outputs z; the output layer
    W, b times s plus m is the same map, y = a W s + (b s + m).
    """
    if estimator.out_activation_ != "identity":
        raise ValueError(
            f"scikit-learn's MLPRegressor has linear outputs only; this network's "
            f"are {estimator.out_activation_!r}. Train with "
            "output_activation='identity' to convert."
        )
    scale = estimator.target_scale_.astype(coefs[-1].dtype)
    coefs[-1] = coefs[-1] * scale
    intercepts[-1] = intercepts[-1] * scale + estimator.target_mean_.astype(scale.dtype)
    n_outputs = coefs[-1].shape[1]
    placeholder_y = np.zeros((2, n_outputs)) if n_outputs > 1 else np.zeros(2)
    return _fitted_sklearn(
        MLPRegressor,
        estimator,
        coefs,
        intercepts,
        placeholder_y,
        estimator.n_features_in_,
        coefs[0].dtype,
    )


def _fitted_sklearn(
    cls, estimator, coefs, intercepts, placeholder_y, n_features, dtype
):
    """A fitted scikit-learn MLP of the right shape (one step on placeholder data), given our weights."""
    mlp = cls(
        hidden_layer_sizes=tuple(w.shape[1] for w in coefs[:-1]),
        activation=_SKLEARN_ACTIVATIONS[estimator.activation],
        max_iter=1,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(np.zeros((len(placeholder_y), n_features), dtype), placeholder_y)
    mlp.coefs_, mlp.intercepts_ = coefs, intercepts
    if hasattr(estimator, "feature_names_in_"):
        mlp.feature_names_in_ = estimator.feature_names_in_
    return mlp


def from_sklearn(mlp):
    """Convert a fitted scikit-learn MLP into an :class:`~sknn.MLPClassifierBook` or :class:`~sknn.MLPRegressorBook`.

    The inverse of :func:`to_sklearn`: a softmax output becomes
    ``cost="log_likelihood"``; a binary classifier's single logistic output
    becomes two softmax outputs (z_0 = 0, z_1 = z), which give the same
    probabilities; multilabel logistic outputs become sigmoid outputs with
    ``cost="cross_entropy"``. An ``MLPRegressor`` becomes an
    ``MLPRegressorBook`` with linear outputs and no target scaling
    (``target_mean_`` 0, ``target_scale_`` 1).

    Parameters
    ----------
    mlp : sklearn.neural_network.MLPClassifier or MLPRegressor
        Fitted, with "logistic", "tanh" or "relu" hidden units.

    Returns
    -------
    MLPClassifierBook or MLPRegressorBook
        Fitted with the same weights and ``random_state``; its other training
        hyperparameters are sknn's defaults (scikit-learn's ``alpha`` divides
        by the mini-batch size under its stochastic solvers, the book's
        lambda by the training-set size, so neither maps onto the other).

    Raises
    ------
    ValueError
        If the hidden activation is "identity", which sknn does not have.
    """
    if not isinstance(mlp, MLPClassifier | MLPRegressor):
        raise TypeError(
            "from_sklearn converts an MLPClassifier or MLPRegressor, not a "
            f"{type(mlp).__name__}."
        )
    check_is_fitted(mlp)
    activations = {theirs: ours for ours, theirs in _SKLEARN_ACTIVATIONS.items()}
    if mlp.activation not in activations:
        raise ValueError(
            f"sknn has no {mlp.activation!r} hidden neurons; it has "
            f"{sorted(activations)} (as scikit-learn calls them)."
        )
    coefs = [np.array(w) for w in mlp.coefs_]
    intercepts = [np.array(b) for b in mlp.intercepts_]
    random_state = (
        mlp.random_state
        if mlp.random_state is None or isinstance(mlp.random_state, int)
        else None
    )
    if isinstance(mlp, MLPRegressor):
        estimator = MLPRegressorBook(
            hidden_layer_sizes=tuple(w.shape[1] for w in coefs[:-1]),
            activation=activations[mlp.activation],
            random_state=random_state,
        )
        return assemble_fitted(
            estimator,
            coefs,
            intercepts,
            n_features_in=mlp.n_features_in_,
            feature_names_in=getattr(mlp, "feature_names_in_", None),
            stop_reason="converted",
        )
    classes = mlp.classes_
    multilabel = mlp.out_activation_ == "logistic" and mlp.n_outputs_ > 1
    if mlp.out_activation_ == "logistic" and not multilabel:
        coefs[-1] = np.hstack([np.zeros_like(coefs[-1]), coefs[-1]])
        intercepts[-1] = np.concatenate([np.zeros_like(intercepts[-1]), intercepts[-1]])
    estimator = MLPClassifierBook(
        hidden_layer_sizes=tuple(w.shape[1] for w in coefs[:-1]),
        activation=activations[mlp.activation],
        cost="cross_entropy" if multilabel else "log_likelihood",
        random_state=random_state,
    )
    return assemble_fitted(
        estimator,
        coefs,
        intercepts,
        n_features_in=mlp.n_features_in_,
        feature_names_in=getattr(mlp, "feature_names_in_", None),
        classes=classes,
        multilabel=multilabel,
        stop_reason="converted",
    )
