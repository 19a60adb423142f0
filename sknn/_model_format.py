"""The sknn model file's layout: its name and version, its error, its field checks.

:mod:`sknn.persistence` documents the layout and writes and reads whole
files; this module holds the pieces both directions share: what a value looks
like in JSON (non-finite numbers as null, hyperparameters as names and
numbers only) and how a field read back is checked, so that a damaged or
foreign file is refused with a :class:`ModelFileError` naming the field
instead of failing later with an error about something else.
"""

import math

import numpy as np

FORMAT_NAME = "sknn-model"
"""The value of the "format" field of every sknn model file."""

FORMAT_VERSION = 1
"""The layout version this sknn writes and reads."""


class ModelFileError(ValueError):
    """A model file (or JSON text) is not a readable sknn model."""


def _json_number(value):
    """A float as JSON can hold it: non-finite numbers become null."""
    if isinstance(value, float | np.floating) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _hyperparameters(estimator):
    """``get_params()`` as JSON values, refusing what only code could rebuild.

    A model file holds data only, so a callable, a cost object or a
    ``RandomState`` raises a ``TypeError`` naming the parameter.
    """
    params = estimator.get_params(deep=False)
    stored = {}
    for name, value in params.items():
        if isinstance(value, tuple):
            value = list(value)
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if name == "callbacks" and value:
            raise TypeError(
                "callbacks cannot be saved as JSON: they are code. Save the model "
                "with callbacks=None (set_params(callbacks=None)), or use skops."
            )
        if value is None or isinstance(value, bool | int | float | str):
            stored[name] = _json_number(value)
        elif isinstance(value, list) and all(
            isinstance(v, bool | int | float | str | np.integer) for v in value
        ):
            stored[name] = [_json_number(v) for v in value]
        else:
            raise TypeError(
                f"The hyperparameter {name}={value!r} cannot be saved as JSON, "
                "which holds only names and numbers. Use one of the named "
                "choices, or save the model with skops."
            )
    return stored


def _require(mapping, key, kind, where):
    """``mapping[key]``, refused with a ``ModelFileError`` if missing or not a ``kind``."""
    if not isinstance(mapping, dict) or key not in mapping:
        raise ModelFileError(f"{where} lacks the field {key!r}.")
    value = mapping[key]
    if not isinstance(value, kind):
        raise ModelFileError(
            f"{where}: the field {key!r} should be {kind}, not {type(value).__name__}."
        )
    return value


def _array(values, shape, dtype, what, where):
    """``values`` as an array of ``shape``, refused if ragged, misshapen or non-finite."""
    try:
        array = np.array(values, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise ModelFileError(
            f"{where}: {what} is not an array of numbers ({error})."
        ) from None
    if array.shape != shape:
        raise ModelFileError(
            f"{where}: {what} has shape {array.shape}, but the layer sizes "
            f"call for {shape}."
        )
    if not np.isfinite(array).all():
        raise ModelFileError(f"{where}: {what} holds non-finite numbers.")
    return array
