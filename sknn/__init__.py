"""sknn: the feedforward networks of *Neural Networks and Deep Learning*, for scikit-learn."""

from ._classifier import (
    DivergenceWarning,
    MLPClassifierBook,
    TrainingInterruptedWarning,
)
from .tuning import BookSearchCV

__version__ = "0.1.0"

__all__ = [
    "BookSearchCV",
    "DivergenceWarning",
    "MLPClassifierBook",
    "TrainingInterruptedWarning",
    "__version__",
]
