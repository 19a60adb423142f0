"""Save and load fitted estimators as versioned JSON, without pickle.

A pickle (or joblib) file runs code when it is loaded, and breaks when the
package's private attributes change. A model file here holds only data,
in a documented layout that other languages can read too:

.. code-block:: text

    {
      "format": "sknn-model",
      "format_version": 1,
      "sknn_version": "0.1.0",                 # informative only
      "estimator": "MLPClassifierBook",
      "hyperparameters": {...},                # get_params(), names for every choice
      "fitted": {
        "layer_sizes": [64, 30, 10],           # input, hidden..., output
        "dtype": "float64",                    # or "float32"
        "hidden_activation": "sigmoid",
        "out_activation": "sigmoid",
        "n_features_in": 64,
        "feature_names_in": null,              # or a list of column names
        "classes": [0, 1, ...],                # classifiers only
        "classes_dtype": "int64",
        "multilabel": false,
        "target_mean": [...],                  # regressors only, per output
        "target_scale": [...],
        "n_iter": 30, "learning_rate": 0.5, "best_epoch": null,
        "stop_reason": "epochs",
        "history": [{"epoch": 1, ...}, ...]    # non-finite numbers as null
      },
      "weights": [[[...], ...], ...],          # per layer, shape (n_in, n_out)
      "biases": [[...], ...]                   # per layer, shape (n_out,)
    }

Weights are stored as decimal numbers that read back to the same bits, so a
loaded model predicts exactly what the saved one did. Reading checks the
format name, the version and every shape, and refuses anything else with a
:class:`ModelFileError` that says what is wrong. The optimizer's momentum
velocities are not saved: a ``warm_start`` fit of a loaded model starts them
from zero.

Hyperparameters that JSON cannot hold (a custom cost or initializer object,
callbacks, a ``RandomState`` instance) are refused when saving, naming the
parameter; skops (:data:`sknn.interop.SKOPS_TRUSTED_TYPES`) can save such
models instead.
"""

import itertools
import json
from pathlib import Path

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._learning_rate import auto_learning_rate
from ._model_format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    ModelFileError,
    _array,
    _hyperparameters,
    _json_number,
    _require,
)
from .activations import ACTIVATIONS

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "JSONPersistenceMixin",
    "ModelFileError",
    "from_json",
    "load",
    "save",
    "to_json",
]


def _estimator_classes():
    """The estimators a model file may hold, by name (imported late: they import us)."""
    from ._classifier import MLPClassifierBook
    from ._regressor import MLPRegressorBook

    return {cls.__name__: cls for cls in (MLPClassifierBook, MLPRegressorBook)}


def to_json(estimator):
    """Return a fitted estimator as the JSON text of an sknn model file.

    Parameters
    ----------
    estimator : MLPClassifierBook or MLPRegressorBook
        A fitted estimator whose hyperparameters are all names or numbers.

    Returns
    -------
    str
        The model, in the layout described in :mod:`sknn.persistence`.

    Raises
    ------
    TypeError
        If a hyperparameter is an object or callable JSON cannot hold.
    """
    check_is_fitted(estimator)
    coefs = estimator.coefs_
    fitted = {
        "layer_sizes": [int(coefs[0].shape[0])] + [int(w.shape[1]) for w in coefs],
        "dtype": str(coefs[0].dtype),
        "hidden_activation": estimator.activation,
        "out_activation": estimator.out_activation_,
        "n_features_in": int(estimator.n_features_in_),
        "feature_names_in": (
            estimator.feature_names_in_.tolist()
            if hasattr(estimator, "feature_names_in_")
            else None
        ),
        "n_iter": int(estimator.n_iter_),
        "learning_rate": float(estimator.learning_rate_),
        "best_epoch": estimator.best_epoch_,
        "stop_reason": estimator.stop_reason_,
        "history": [
            {key: _json_number(value) for key, value in record.items()}
            for record in estimator.history_
        ],
    }
    if is_classifier(estimator):
        fitted["classes"] = estimator.classes_.tolist()
        fitted["classes_dtype"] = str(estimator.classes_.dtype)
        fitted["multilabel"] = bool(estimator._is_multilabel())
    else:
        fitted["target_mean"] = estimator.target_mean_.tolist()
        fitted["target_scale"] = estimator.target_scale_.tolist()
    document = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "sknn_version": _sknn_version(),
        "estimator": type(estimator).__name__,
        "hyperparameters": _hyperparameters(estimator),
        "fitted": fitted,
        "weights": [w.tolist() for w in coefs],
        "biases": [b.tolist() for b in estimator.intercepts_],
    }
    return json.dumps(document, allow_nan=False)


def _sknn_version():
    from . import __version__

    return __version__


def save(estimator, path):
    """Write a fitted estimator to ``path`` as an sknn model file (JSON).

    Parameters
    ----------
    estimator : MLPClassifierBook or MLPRegressorBook
        A fitted estimator.
    path : str or path-like
        The file to write; it is overwritten if it exists.
    """
    text = to_json(estimator)
    Path(path).write_text(text, encoding="utf-8")


def load(path):
    """Read an estimator from an sknn model file written by :func:`save`.

    Parameters
    ----------
    path : str or path-like
        The model file.

    Returns
    -------
    MLPClassifierBook or MLPRegressorBook
        The fitted estimator, predicting exactly as the saved one did.

    Raises
    ------
    ModelFileError
        If the file is not valid JSON, not an sknn model file, of another
        format version, or its arrays do not fit together.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ModelFileError(f"{path} is not a text (JSON) file: {error}") from None
    return from_json(text, source=str(path))


def from_json(text, *, source="the JSON text"):
    """Rebuild a fitted estimator from the JSON text made by :func:`to_json`.

    Parameters
    ----------
    text : str
        The content of an sknn model file.
    source : str, default="the JSON text"
        What to call the text in error messages (``load`` gives the path).

    Returns
    -------
    MLPClassifierBook or MLPRegressorBook
        The fitted estimator.

    Raises
    ------
    ModelFileError
        If ``text`` is not a readable sknn model of this format version.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{source} is not valid JSON: {error}.") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"{source} is not an sknn model file: it lacks "
            f'"format": "{FORMAT_NAME}". (A file saved by network2.py is read '
            "by sknn.interop.load_network2.)"
        )
    version = document.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{source} has format version {version!r}; this sknn "
            f"({_sknn_version()}) reads version {FORMAT_VERSION} only. "
            "Load it with the sknn version that wrote it "
            f"({document.get('sknn_version', 'unknown')})."
        )
    known = _estimator_classes()
    name = _require(document, "estimator", str, source)
    if name not in known:
        raise ModelFileError(
            f"{source} holds a {name!r}; this sknn knows {sorted(known)}."
        )
    params = _require(document, "hyperparameters", dict, source)
    fitted = _require(document, "fitted", dict, source)
    sizes = _require(fitted, "layer_sizes", list, source)
    if len(sizes) < 2 or not all(isinstance(n, int) and n > 0 for n in sizes):
        raise ModelFileError(f"{source}: layer_sizes {sizes!r} are not positive ints.")
    dtype = _require(fitted, "dtype", str, source)
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"{source}: dtype {dtype!r} is not float32 or float64.")
    weights = _require(document, "weights", list, source)
    biases = _require(document, "biases", list, source)
    if len(weights) != len(sizes) - 1 or len(biases) != len(sizes) - 1:
        raise ModelFileError(
            f"{source}: {len(sizes) - 1} layers need as many weight matrices and "
            f"bias vectors; found {len(weights)} and {len(biases)}."
        )
    coefs = [
        _array(w, (n_in, n_out), dtype, f"weights[{i}]", source)
        for i, (w, (n_in, n_out)) in enumerate(zip(weights, itertools.pairwise(sizes)))
    ]
    intercepts = [
        _array(b, (n_out,), dtype, f"biases[{i}]", source)
        for i, (b, n_out) in enumerate(zip(biases, sizes[1:]))
    ]
    if "hidden_layer_sizes" in params:
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    if "monitor" in params and isinstance(params["monitor"], list):
        params["monitor"] = tuple(params["monitor"])
    try:
        estimator = known[name](**params)
    except TypeError as error:
        raise ModelFileError(f"{source}: bad hyperparameters ({error}).") from None
    if list(np.atleast_1d(estimator.hidden_layer_sizes)) != sizes[1:-1]:
        raise ModelFileError(
            f"{source}: hidden_layer_sizes {params.get('hidden_layer_sizes')!r} "
            f"disagree with the layer sizes {sizes}."
        )
    classes = None
    targets = {}
    if is_classifier(estimator):
        classes = _require(fitted, "classes", list, source)
        classes = np.array(
            classes, dtype=_require(fitted, "classes_dtype", str, source)
        )
    else:
        n_outputs = sizes[-1]
        targets = {
            "target_mean": _array(
                _require(fitted, "target_mean", list, source),
                (n_outputs,),
                "float64",
                "target_mean",
                source,
            ),
            "target_scale": _array(
                _require(fitted, "target_scale", list, source),
                (n_outputs,),
                "float64",
                "target_scale",
                source,
            ),
        }
    assemble_fitted(
        estimator,
        coefs,
        intercepts,
        **targets,
        n_features_in=_require(fitted, "n_features_in", int, source),
        feature_names_in=fitted.get("feature_names_in"),
        classes=classes,
        multilabel=bool(fitted.get("multilabel", False)),
        n_iter=fitted.get("n_iter", 0),
        learning_rate=fitted.get("learning_rate"),
        best_epoch=fitted.get("best_epoch"),
        stop_reason=fitted.get("stop_reason", "loaded"),
        history=[
            {k: (np.nan if v is None else v) for k, v in record.items()}
            for record in fitted.get("history", [])
        ],
    )
    expected = (fitted.get("out_activation"), fitted.get("hidden_activation"))
    actual = (estimator.out_activation_, estimator.activation)
    if expected != actual:
        raise ModelFileError(
            f"{source}: the file's activations (output, hidden) {expected} "
            f"disagree with its hyperparameters, which give {actual}."
        )
    return estimator


def assemble_fitted(
    estimator,
    coefs,
    intercepts,
    *,
    n_features_in,
    feature_names_in=None,
    classes=None,
    multilabel=False,
    target_mean=None,
    target_scale=None,
    n_iter=0,
    learning_rate=None,
    best_epoch=None,
    stop_reason="loaded",
    history=(),
):
    """Give an unfitted estimator the fitted state of trained weights.

    The one place that knows which attributes make an sknn estimator fitted;
    used when reading model files and when converting other libraries'
    networks.
    """
    if n_features_in != coefs[0].shape[0]:
        raise ModelFileError(
            f"n_features_in is {n_features_in}, but the first layer takes "
            f"{coefs[0].shape[0]} inputs."
        )
    estimator.coefs_ = [np.ascontiguousarray(w) for w in coefs]
    estimator.intercepts_ = [np.ascontiguousarray(b) for b in intercepts]
    estimator.n_features_in_ = n_features_in
    if feature_names_in is not None:
        if len(feature_names_in) != n_features_in:
            raise ModelFileError(
                f"{len(feature_names_in)} feature names for {n_features_in} features."
            )
        estimator.feature_names_in_ = np.asarray(feature_names_in, dtype=object)
    n_outputs = coefs[-1].shape[1]
    if is_classifier(estimator):
        binarizer = LabelBinarizer()
        if multilabel:
            binarizer.fit(np.eye(len(classes), dtype=int))
        else:
            binarizer.fit(classes)
        if len(binarizer.classes_) != len(classes) or len(classes) != n_outputs:
            raise ModelFileError(
                f"{len(classes)} classes {list(classes)!r} for a network with "
                f"{n_outputs} outputs; there must be one output per distinct class."
            )
        estimator._label_binarizer = binarizer
        estimator.classes_ = binarizer.classes_ if multilabel else np.asarray(classes)
    if is_regressor(estimator):
        estimator.target_mean_ = (
            np.zeros(n_outputs) if target_mean is None else np.asarray(target_mean)
        )
        estimator.target_scale_ = (
            np.ones(n_outputs) if target_scale is None else np.asarray(target_scale)
        )
    estimator.n_layers_ = len(coefs) + 1
    estimator.n_outputs_ = n_outputs
    activation = ACTIVATIONS[estimator.activation]
    cost = estimator._resolved_cost()
    estimator._fitted_activation = activation
    estimator._fitted_cost = cost
    estimator.out_activation_ = cost.output_activation.name
    estimator.n_iter_ = int(n_iter)
    estimator.history_ = list(history)
    if learning_rate is None:
        learning_rate = (
            auto_learning_rate(activation, cost, float(estimator.momentum))
            if isinstance(estimator.learning_rate, str)
            else estimator.learning_rate
        )
    estimator.learning_rate_ = float(learning_rate)
    estimator.best_epoch_ = best_epoch
    estimator.stop_reason_ = stop_reason
    estimator._velocities = None
    estimator._rng = np.random.default_rng(
        check_random_state(estimator.random_state).randint(np.iinfo(np.int32).max)
    )
    return estimator


class JSONPersistenceMixin:
    """``save``/``load`` and ``to_json``/``from_json`` methods for the estimators."""

    def to_json(self):
        """Return this fitted estimator as the JSON text of an sknn model file.

        Returns
        -------
        str
            See :mod:`sknn.persistence` for the layout.
        """
        return to_json(self)

    def save(self, path):
        """Write this fitted estimator to ``path`` as a JSON model file.

        Parameters
        ----------
        path : str or path-like
            The file to write.

        Returns
        -------
        self : object
            The estimator, unchanged.
        """
        save(self, path)
        return self

    @classmethod
    def from_json(cls, text):
        """Rebuild a fitted estimator of this class from :meth:`to_json`'s text.

        Parameters
        ----------
        text : str
            The JSON text.

        Returns
        -------
        estimator : object
            The fitted estimator.
        """
        return cls._checked(from_json(text))

    @classmethod
    def load(cls, path):
        """Read a fitted estimator of this class from a file written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
            The model file.

        Returns
        -------
        estimator : object
            The fitted estimator.
        """
        return cls._checked(load(path))

    @classmethod
    def _checked(cls, estimator):
        if not isinstance(estimator, cls):
            raise ModelFileError(
                f"The file holds a {type(estimator).__name__}, not a {cls.__name__}; "
                "sknn.persistence.load reads either."
            )
        return estimator
