"""BookSearchCV: chapter 3's recipe for choosing hyper-parameters, as one estimator.

Chapter 3 of *Neural Networks and Deep Learning*, in "How to choose a neural
network's hyper-parameters?", does not search every combination at once. It
tunes one hyper-parameter at a time, in an order where each choice barely
depends on the ones that come after it, and carries each choice forward:

1. **Learning rate threshold** ("Learning rate"): train for a few epochs with
   eta = 0.01, 0.1, 1, ... and find the threshold, the largest eta at which
   the *training cost* still falls in the first few epochs; refine it within
   its factor of ten, then use about half of it. The training cost, not a
   validation score, decides: eta's job is the step size of gradient
   descent, and the training cost is what shows a step that is too big.
2. **Epochs** ("Use early stopping to determine the number of training
   epochs"): let no-improvement-in-n early stopping find when validation
   accuracy stops improving, and train that long from then on.
3. **Lambda** ("The regularization parameter"): having started with no
   regularization (lambda = 0) so far, try lambda by factors of ten on
   validation accuracy, then refine around the best.
4. **Learning rate, again**: with lambda chosen, "you should return and
   re-optimize eta again."
5. **Mini-batch size** ("Mini-batch size"): it is "relatively independent"
   of the rest, so choose it for speed: the fastest whose accuracy is about
   as good as the best.

Each stage is a small class: ``_stages`` holds the ones judged on training
curves, ``_scored_stages`` the cross-validated ones, ``_decisions`` the pure
rules they decide by, ``_run`` the checked settings and the fits they share,
``_report`` the report and plots, ``_search`` the estimator. The cross-validated
stages are scikit-learn searches (``GridSearchCV`` or ``HalvingGridSearchCV``);
the threshold and early-stopping stages fit in parallel with scikit-learn's
``Parallel``. Both go through joblib, so ``with
joblib.parallel_backend("dask"):`` runs every fit on a Dask cluster.
"""

from __future__ import annotations

from ._base import STAGES, SearchInterruptedWarning, StageResult
from ._search import BookSearchCV

__all__ = ["STAGES", "BookSearchCV", "SearchInterruptedWarning", "StageResult"]
