"""sknn: the feedforward networks of *Neural Networks and Deep Learning*, for scikit-learn."""

from importlib import metadata as _metadata

from ._classifier import (
    DivergenceWarning,
    FailedToLearnWarning,
    MLPClassifierBook,
    TrainingInterruptedWarning,
)
from ._regressor import MLPRegressorBook
from ._threads import training_threads
from .losses import cross_entropy_error, mean_squared_error
from .persistence import ModelFileError
from .tuning import BookSearchCV

# pyproject.toml is the one place the version is written.
__version__ = _metadata.version("sknn")

__all__ = [
    "BookSearchCV",
    "DivergenceWarning",
    "FailedToLearnWarning",
    "MLPClassifierBook",
    "MLPRegressorBook",
    "ModelFileError",
    "TrainingInterruptedWarning",
    "__version__",
    "cross_entropy_error",
    "mean_squared_error",
    "training_threads",
]
