"""A fitted network as a feature extractor: ``transform`` gives hidden activations.

A trained network's hidden layers are features it learned for its task; the
book's chapter 6 builds deeper networks on exactly that idea. ``transform``
makes them available to the rest of scikit-learn: in a ``Pipeline``, a fitted
network can feed its last hidden layer to another estimator.
"""

from numbers import Integral

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._network import Network


class _HiddenOutput:
    """Stands in for a cost so that a truncated network ends in a hidden layer."""

    def __init__(self, activation):
        self.output_activation = activation


class HiddenFeaturesMixin(TransformerMixin):
    """``transform``, ``hidden_activations`` and ``get_feature_names_out``.

    With ``get_feature_names_out`` defined, scikit-learn's ``set_output``
    (e.g. ``set_output(transform="pandas")``) applies to ``transform`` and
    ``fit_transform``.
    """

    def transform(self, X):
        """Return the activations of the last hidden layer for every row of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input rows.

        Returns
        -------
        ndarray of shape (n_samples, hidden_layer_sizes[-1])
            The activations a^l of the last hidden layer l (eq. 25), in the
            model's dtype;
            a DataFrame under ``set_output(transform="pandas")``.
        """
        return self.hidden_activations(X)

    def hidden_activations(self, X, layer=-1):
        """Return the activations of any hidden layer for every row of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input rows.
        layer : int, default=-1
            Which hidden layer: 1 is the first (the one after the inputs),
            up to ``len(hidden_layer_sizes)``; negative numbers count from the
            last hidden layer, which -1 is.

        Returns
        -------
        ndarray of shape (n_samples, n_units)
            The activations a^l of that layer's units.
        """
        check_is_fitted(self)
        index = self._hidden_layer_index(layer)
        X = self._validated_input(X)
        activation = self._hidden_activation()
        truncated = Network(
            self.coefs_[: index + 1],
            self.intercepts_[: index + 1],
            activation,
            _HiddenOutput(activation),
        )
        return truncated.feedforward(X)

    def get_feature_names_out(self, input_features=None):
        """Names of the units :meth:`transform` returns: ``hidden<l>_<j>``.

        ``l`` is the number of the last hidden layer (1 for a single hidden
        layer) and ``j`` counts its units from 0, e.g. ``hidden1_0`` to
        ``hidden1_29``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the features seen in ``fit``; the names out
            do not depend on them.

        Returns
        -------
        ndarray of str objects
            One name per unit of the last hidden layer.
        """
        check_is_fitted(self)
        if input_features is not None:
            input_features = np.asarray(input_features, dtype=object)
            if len(input_features) != self.n_features_in_:
                raise ValueError(
                    f"input_features has {len(input_features)} names, but the model "
                    f"was fitted with {self.n_features_in_} features."
                )
            seen = getattr(self, "feature_names_in_", None)
            if seen is not None and not np.array_equal(input_features, seen):
                raise ValueError(
                    "input_features is not equal to feature_names_in_, the names "
                    f"seen in fit: {seen.tolist()}."
                )
        layer = len(self.coefs_) - 1
        units = self.coefs_[layer - 1].shape[1]
        return np.asarray([f"hidden{layer}_{j}" for j in range(units)], dtype=object)

    def _hidden_layer_index(self, layer):
        n_hidden = len(self.coefs_) - 1
        if (
            not isinstance(layer, Integral)
            or isinstance(layer, bool)
            or not (1 <= layer <= n_hidden or -n_hidden <= layer <= -1)
        ):
            raise ValueError(
                f"layer must be a hidden layer's number, 1 to {n_hidden}, or -1 to "
                f"-{n_hidden} counting from the last; got {layer!r}."
            )
        return layer - 1 if layer > 0 else n_hidden + layer

    def _hidden_activation(self):
        return self._fitted_activation

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
