"""The private scikit-learn names sknn needs, imported in this one place.

scikit-learn has no public equivalent for these; scikit-learn-contrib projects
use the same ones. Keeping them here means a scikit-learn release that moves one
breaks a single import, and ``pyproject.toml`` bounds scikit-learn from above at
the newest minor release CI has run. CI (``.ci/run``) tests both ends of the
range: the newest release allowed, and the oldest, 1.6.1.

- ``_fit_context``: validates ``_parameter_constraints`` once per ``fit`` and
  skips the nested validation of inner estimators, as scikit-learn's own do.
- ``HasMethods``, ``Interval``, ``StrOptions``: the vocabulary of
  ``_parameter_constraints``; scikit-learn's estimator checks expect it.
- ``_check_sample_weight``: turns ``sample_weight`` (None, a scalar or an
  array) into a checked float array of the right length.
- ``_check_method_params``: indexes fit parameters (such as ``X_val``) the way
  ``cross_validate`` does for a train/test split.
- (not imported, but called) ``CallbackSupportMixin._init_callback_context``
  in ``sknn/_sklearn_callbacks.py`` and ``sknn/tuning/_progress.py``:
  scikit-learn 1.9 has no public way to start a fit's callback context.
- ``_safe_indexing``: row selection that works on arrays, sparse matrices and
  DataFrames alike.
"""

from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_method_params, _check_sample_weight

__all__ = [
    "HasMethods",
    "Interval",
    "StrOptions",
    "_check_method_params",
    "_check_sample_weight",
    "_fit_context",
    "_safe_indexing",
]
