"""sknn: the feedforward networks of *Neural Networks and Deep Learning*, for scikit-learn."""

from ._classifier import (
    DivergenceWarning,
    MLPClassifierBook,
    TrainingInterruptedWarning,
)

__version__ = "0.1.0"

__all__ = [
    "DivergenceWarning",
    "MLPClassifierBook",
    "TrainingInterruptedWarning",
    "__version__",
]
