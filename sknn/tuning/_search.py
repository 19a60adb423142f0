"""BookSearchCV: the estimator that runs the stages in order and refits."""

from __future__ import annotations

import time
import warnings
from copy import deepcopy
from numbers import Integral, Real

from joblib import parallel_config
from sklearn.base import BaseEstimator, MetaEstimatorMixin
from sklearn.metrics import get_scorer, get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    check_is_fitted,
)

from .._sklearn_callbacks import CallbackSupportMixin
from .._sklearn_private import HasMethods, Interval, StrOptions, _fit_context
from . import _report
from ._base import STAGES, SearchInterruptedWarning, _estimator_has
from ._checks import (
    _STAGE_CLASSES,
    _check_settings,
    _check_validation_data,
    _checked_data,
)
from ._passes import one_pass, run_stages
from ._progress import _SearchProgress
from ._run import _Run


class BookSearchCV(CallbackSupportMixin, MetaEstimatorMixin, BaseEstimator):
    """Tune an MLPClassifierBook the way chapter 3 of the book does, stage by stage.

    Chapter 3, "How to choose a neural network's hyper-parameters?", tunes
    one hyper-parameter at a time instead of searching a grid of every
    combination, which grows multiplicatively and mostly trains hopeless
    networks. Each stage below finds one value and carries it into the next;
    each uses the settings the previous stages chose:

    - ``"learning_rate_threshold"`` ("Learning rate"): the largest eta whose
      training cost falls during the first epochs (judged on ``history_``,
      not a score); eta becomes ``threshold_fraction`` of it.
    - ``"epochs"``: no-improvement-in-n early stopping on each fold; later
      candidates all train that many epochs.
    - ``"activation"``, then ``"architecture"``: the neurons (with a suitable
      initializer), then the width and depth, grown while the CV score
      improves; each new network gets its own eta from a new threshold.
    - ``"lmbda"``, then ``"learning_rate"``: lambda by factors of ten, then
      eta again around the current value, on the CV score.
    - ``"cost"``, ``"momentum"``, ``"schedule"``, ``"dropout"``, in that
      order: the output cost, momentum, the halving schedule, and dropout if
      the network overfits; a change is kept only if it scores clearly better.
    - ``"batch_size"``: the fastest size whose CV score is about the best.

    A budget (``max_time``, ``max_fits``) skips the stages there is no time
    for, and the report says so; ``docs/tuning.md`` gives the details.
    Then ``best_estimator_`` is refit on all the data with every chosen
    value. Everything runs through joblib: ``n_jobs`` parallelises the fits,
    and ``with joblib.parallel_backend("dask"):`` sends them to a Dask
    cluster (see ``docs/tuning.md``).

    Parameters
    ----------
    estimator : MLPClassifierBook or Pipeline
        The network to tune, or a Pipeline whose last step is one; its other
        parameters (architecture, cost, regularizer, ...) stay as they are.
        In a Pipeline the parameters are addressed with the step's prefix
        (``"mlpclassifierbook__learning_rate"``), found automatically.
    stages : sequence of str, default=STAGES
        Which stages to run, a subset of :data:`STAGES` in the book's order.
        A stage left out keeps the base estimator's value of its parameter.
    learning_rates : sequence of float, default=(0.001, 0.01, 0.1, 1.0, 10.0, 100.0)
        The coarse learning rates of the threshold stage, by factors of ten.
    threshold_epochs : int, default=3
        Epochs per learning rate in the threshold stage: the book's "first
        few epochs".
    threshold_refine_factors : sequence of float, default=(2.0, 5.0)
        The threshold is refined by trying it times these factors that lie
        below the first learning rate that failed (the book's "eta = 0.2 or
        eta = 0.5"). Empty: no refinement.
    threshold_fraction : float, default=0.5
        The chosen eta as a fraction of the threshold: "a factor of two
        below the threshold".
    subsample : "auto", float, int or None, default="auto"
        Rows for the threshold stage: a fraction of the training data (in
        (0, 1]), a number of rows, None for all, or "auto" for at most
        10,000 (the book's quick feedback: the threshold shows within a few
        epochs on a few thousand images, and a 50,000-image fold would make
        the first, unpredictable batch of fits the longest). Stratified by
        class.
    max_epochs : int, default=100
        The most epochs early stopping may run in the epochs stage.
    epochs_from : {"stop", "best"}, default="stop"
        Which epoch of an early-stopping run gives ``epochs``: where the
        no-improvement-in-n rule stopped training (the book's rule: "when
        that stops improving, terminate"), or the epoch of the best
        validation accuracy. "best" suits large validation sets; on small
        ones the best accuracy comes by chance early.
    n_iter_no_change : int, default=10
        The n of "no-improvement-in-n" in the epochs stage; the book
        suggests ten.
    validation_fraction : float, default=0.2
        The part of each training fold held out for early stopping.
    lmbdas : sequence of float, default=(0.0, 0.01, 0.1, 1.0, 10.0)
        The lambdas of the lambda stage, starting with no regularization.
        Lambda is divided by the training-set size n, as in the book.
    lmbda_refine_factors : sequence of float, default=(0.5, 2.0)
        The best non-zero lambda times these is cross-validated next to it.
        Empty: no refinement.
    learning_rate_factors : sequence of float, default=(0.5, 2.0)
        The revisited eta times these is cross-validated next to it.
    batch_sizes : sequence of int, default=(10, 20, 50, 100)
        The mini-batch sizes of the batch-size stage.
    batch_size_tolerance : float, default=0.002
        How far below the best mean CV score a faster mini-batch size may be,
        in the units of ``scoring`` (0.002 is a fifth of a point of accuracy);
        it must also train in 90% of the best-scoring size's time.
    search : {"grid", "halving"}, default="grid"
        The search of the lambda and learning-rate stages: ``GridSearchCV``
        or ``HalvingGridSearchCV`` (successive halving, cheaper).
    costs : sequence of str, default=("cross_entropy", "log_likelihood")
        The costs the ``"cost"`` stage compares: sigmoid outputs with the
        cross-entropy, or a softmax layer with the log-likelihood.
    activations : sequence of str, default=("sigmoid", "tanh", "relu")
        The hidden neurons the ``"activation"`` stage compares, each with the
        initializer that suits it (He's for ReLU).
    width_factor : float, default=2.0
        The ``"architecture"`` stage widens every hidden layer by this factor
        while the CV score improves.
    max_width : int, default=400
        The widest hidden layer the architecture stage tries.
    max_depth : int, default=2
        The most hidden layers the architecture stage tries (once widening
        stops helping, it adds a layer as wide as the chosen shape's last).
    min_improvement : float, default=0.002
        How much better than the current setting a change (a wider network,
        another activation, ...) must score to be kept, in the units of
        ``scoring``; for accuracy, at least its standard error.
    momentums : sequence of float, default=(0.5, 0.9)
        The momentum coefficients (in (0, 1)) the ``"momentum"`` stage tries
        next to the current one, each with its own learning rate.
    dropouts : sequence of float, default=(0.2, 0.5)
        The dropout rates (in (0, 1)) tried when the network overfits.
    dropout_gap : float, default=0.01
        Dropout is tried only if the training score exceeds the CV score by
        more than this: a network that does not overfit only loses by it.
    max_time : float or None, default=None
        Seconds for the search and the refit together. A batch of fits whose
        predicted time (from the fits so far) would leave too little for the
        refit is skipped, and the report says so; the choices then depend on
        the machine's speed.
    max_fits : int or None, default=None
        The most fits the stages may run; batches beyond it are skipped.
    max_passes : int or None, default=None
        How many times the stages may run. After the first pass, the stages
        decided on the CV score (all but the threshold, the epochs and the
        mini-batch size, which is chosen for speed) run again from the
        choices so far while the last pass changed one: chapter 3's "bounce
        backward and forward, gradually closing in on good values" (a width
        chosen after the activation may favour another activation). Each
        keeps the setting so far unless another scores better, so a later
        pass can only gain. None: as many passes as ``max_time`` has room
        for (one without ``max_time``).
    cv : int, cross-validation generator or iterable, default=None
        As in ``GridSearchCV`` (None: 5-fold, stratified). The folds are
        drawn once, so every stage and every candidate sees the same ones.
        Pass ``groups`` to ``fit`` for group splitters.
    scoring : str, callable or None, default=None
        The CV score of the lambda, learning-rate and batch-size stages;
        None uses the estimator's ``score`` (accuracy).
    n_jobs : int or None, default=None
        Fits run in parallel, through joblib: in threads when the network
        is large (the compiled loop releases the GIL), else in joblib's
        default worker processes, unless a joblib backend is chosen.
    random_state : int, RandomState instance or None, default=None
        Seeds the subsample, successive halving and, when the base
        estimator's ``random_state`` is None, the network: every candidate
        then starts from the same initial weights, so they differ only in the
        value being tried. The same seed gives the same choices, with any
        ``n_jobs`` and on a cluster (the batch-size stage excepted when two
        sizes are about equally fast, since it measures time).
    verbose : int, default=0
        1 prints a line per stage and candidate; more, the searches' too.
        With scikit-learn >= 1.9, ``set_callbacks(ProgressBar())`` (from
        ``sklearn.callback``) shows a progress bar per stage and for the
        refit's epochs instead.
    prefix : str or None, default=None
        The parameter prefix of the network inside a Pipeline, e.g.
        ``"mlpclassifierbook__"``; None finds it from the last step's name.

    Attributes
    ----------
    best_estimator_ : estimator
        A clone of ``estimator`` with the chosen values, refit on all of X.
    best_params_ : dict
        The chosen value of each tuned parameter, by its (prefixed) name.
    best_score_ : float
        The mean cross-validated score of the chosen settings. NaN when no
        scored stage ran and the budget left no room to cross-validate the
        final settings (the report says so).
    stages_ : list of StageResult
        What each stage tried, chose and why, with its searches' ``cv_results_``.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_features_in_ : int
        Features seen in ``fit``.
    refit_time_ : float
        Seconds spent refitting ``best_estimator_``.
    search_time_ : float
        Seconds spent in the stages, before the refit.
    n_fits_ : int
        Fits of the network the stages ran (the refit not counted).
    interrupted_ : str or None
        The stage during which Ctrl-C stopped the search, or None. The
        stages before it keep their choices, the model is refit with them,
        and a ``SearchInterruptedWarning`` says so. Ctrl-C during the first
        stage, before anything was chosen, stops ``fit`` as usual.

    See Also
    --------
    sklearn.model_selection.GridSearchCV : one search over all combinations.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknn import MLPClassifierBook
    >>> from sknn.tuning import BookSearchCV
    >>> X, y = load_digits(return_X_y=True)
    >>> search = BookSearchCV(
    ...     MLPClassifierBook(),
    ...     stages=("learning_rate_threshold", "epochs"),
    ...     max_epochs=20,
    ...     cv=3,
    ...     random_state=0,
    ... ).fit(X / 16, y)
    >>> sorted(search.best_params_)
    ['epochs', 'learning_rate']
    """

    _stage_classes = _STAGE_CLASSES

    # The stages and the ranges are checked in fit by _check_settings, which
    # names the bad values; a second, vaguer check here would only repeat it.
    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"])],
        "stages": "no_validation",
        "learning_rates": "no_validation",
        "threshold_epochs": [Interval(Integral, 1, None, closed="left")],
        "threshold_refine_factors": "no_validation",
        "threshold_fraction": [Interval(Real, 0, 1, closed="right")],
        "subsample": [
            StrOptions({"auto"}),
            Interval(Real, 0, 1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "epochs_from": [StrOptions({"stop", "best"})],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="right")],
        "lmbdas": "no_validation",
        "lmbda_refine_factors": "no_validation",
        "learning_rate_factors": "no_validation",
        "batch_sizes": "no_validation",
        "batch_size_tolerance": [Interval(Real, 0, None, closed="left")],
        "search": [StrOptions({"grid", "halving"})],
        "costs": "no_validation",
        "activations": "no_validation",
        "width_factor": [Interval(Real, 1, None, closed="neither")],
        "max_width": [Interval(Integral, 1, None, closed="left")],
        "max_depth": [Interval(Integral, 1, None, closed="left")],
        "min_improvement": [Interval(Real, 0, None, closed="left")],
        "momentums": "no_validation",
        "dropouts": "no_validation",
        "dropout_gap": [Interval(Real, 0, None, closed="left")],
        "max_time": [Interval(Real, 0, None, closed="neither"), None],
        "max_fits": [Interval(Integral, 1, None, closed="left"), None],
        "max_passes": [Interval(Integral, 1, None, closed="left"), None],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "prefix": [str, None],
    }

    def __init__(
        self,
        estimator,
        *,
        stages=STAGES,
        learning_rates=(0.001, 0.01, 0.1, 1.0, 10.0, 100.0),
        threshold_epochs=3,
        threshold_refine_factors=(2.0, 5.0),
        threshold_fraction=0.5,
        subsample="auto",
        max_epochs=100,
        epochs_from="stop",
        n_iter_no_change=10,
        validation_fraction=0.2,
        lmbdas=(0.0, 0.01, 0.1, 1.0, 10.0),
        lmbda_refine_factors=(0.5, 2.0),
        learning_rate_factors=(0.5, 2.0),
        batch_sizes=(10, 20, 50, 100),
        batch_size_tolerance=0.002,
        search="grid",
        costs=("cross_entropy", "log_likelihood"),
        activations=("sigmoid", "tanh", "relu"),
        width_factor=2.0,
        max_width=400,
        max_depth=2,
        min_improvement=0.002,
        momentums=(0.5, 0.9),
        dropouts=(0.2, 0.5),
        dropout_gap=0.01,
        max_time=None,
        max_fits=None,
        max_passes=None,
        cv=None,
        scoring=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
        prefix=None,
    ):
        self.estimator = estimator
        self.stages = stages
        self.learning_rates = learning_rates
        self.threshold_epochs = threshold_epochs
        self.threshold_refine_factors = threshold_refine_factors
        self.threshold_fraction = threshold_fraction
        self.subsample = subsample
        self.max_epochs = max_epochs
        self.epochs_from = epochs_from
        self.n_iter_no_change = n_iter_no_change
        self.validation_fraction = validation_fraction
        self.lmbdas = lmbdas
        self.lmbda_refine_factors = lmbda_refine_factors
        self.learning_rate_factors = learning_rate_factors
        self.batch_sizes = batch_sizes
        self.batch_size_tolerance = batch_size_tolerance
        self.search = search
        self.costs = costs
        self.activations = activations
        self.width_factor = width_factor
        self.max_width = max_width
        self.max_depth = max_depth
        self.min_improvement = min_improvement
        self.momentums = momentums
        self.dropouts = dropouts
        self.dropout_gap = dropout_gap
        self.max_time = max_time
        self.max_fits = max_fits
        self.max_passes = max_passes
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.prefix = prefix

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Run the stages in order, then refit the best settings on all of X.

        Every setting is checked before the first fit, so a typo fails at
        once rather than after minutes of training.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        **fit_params : dict
            Passed to every fit of the estimator (with the Pipeline prefix
            when it is one); sample-aligned arrays are split with the rows.
            ``groups`` is passed to the ``cv`` splitter instead.

        Returns
        -------
        self : BookSearchCV
        """
        settings, prefix = _check_settings(self)
        X, y = _checked_data(self.estimator, X, y)
        fit_params = dict(fit_params)
        _check_validation_data(self.estimator, fit_params, prefix)
        groups = fit_params.pop("groups", None)
        cv = check_cv(self.cv, y, classifier=True)
        splits = list(cv.split(X, y, groups))
        rng = check_random_state(self.random_state)
        run = _Run(self.estimator, X, y, fit_params, splits, prefix, settings, rng)
        progress = _SearchProgress(
            self, X, y, len(settings["stages"]) if one_pass(settings) else None
        )
        with parallel_config(**run.hint), run.cancellable():
            self.stages_, self.interrupted_ = run_stages(
                run, [_STAGE_CLASSES[name]() for name in settings["stages"]], progress
            )
            self.best_score_ = run.final_score(self.stages_)
        if self.interrupted_ is not None:
            warnings.warn(
                f"BookSearchCV interrupted during stage {self.interrupted_!r}; "
                "refitting with the values chosen so far (Ctrl-C again to stop "
                "the refit too).",
                SearchInterruptedWarning,
                stacklevel=3,  # the caller of fit, past _fit_context's wrapper
            )
        self.best_params_ = {}
        for result in self.stages_:
            if not result.skipped:
                self.best_params_[result.param] = result.chosen
                self.best_params_.update(result.also)
        self._unmeasured = run.unmeasured
        self._passes_ended = run.passes_ended
        self.n_samples_ = run.n_samples
        self.n_splits_ = len(splits)
        self._scoring_name = self.scoring if isinstance(self.scoring, str) else None
        self.search_time_ = run.elapsed()
        self.n_fits_ = run.n_fits
        started = time.perf_counter()
        best_estimator = run.estimator()
        with progress.refit(best_estimator), run.lend_idle_workers(1):
            best_estimator.fit(X, y, **fit_params)
        self.best_estimator_ = best_estimator
        self.refit_time_ = time.perf_counter() - started
        progress.end()
        return self

    # --- using the tuned model ----------------------------------------------

    def predict(self, X):
        """Predict with ``best_estimator_``."""
        check_is_fitted(self)
        return self.best_estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from ``best_estimator_``."""
        check_is_fitted(self)
        return self.best_estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities from ``best_estimator_``."""
        check_is_fitted(self)
        return self.best_estimator_.predict_log_proba(X)

    def score(self, X, y, sample_weight=None):
        """Score ``best_estimator_`` on X, y with ``scoring`` (default: accuracy)."""
        check_is_fitted(self)
        params = {} if sample_weight is None else {"sample_weight": sample_weight}
        if self.scoring is None:
            return self.best_estimator_.score(X, y, **params)
        return get_scorer(self.scoring)(self.best_estimator_, X, y, **params)

    @property
    def classes_(self):
        check_is_fitted(self)
        return self.best_estimator_.classes_

    @property
    def n_features_in_(self):
        check_is_fitted(self)
        return self.best_estimator_.n_features_in_

    def __sklearn_is_fitted__(self):
        return hasattr(self, "best_estimator_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        sub = get_tags(self.estimator)
        tags.estimator_type = sub.estimator_type
        tags.classifier_tags = deepcopy(sub.classifier_tags)
        tags.input_tags.sparse = sub.input_tags.sparse
        return tags

    # --- reading the results (written in _report.py, beside what they draw) ---

    report = _report.report
    plot_report = _report.plot_report
