"""Bridge to scikit-learn's callback API (``sklearn.callback``, scikit-learn >= 1.9).

scikit-learn 1.9 lets estimators report their progress to callbacks such as
``ProgressBar`` and ``ScoringMonitor``, and lets meta-estimators like
``GridSearchCV`` pass them down. Here each epoch is one task of the fit. On
older scikit-learn the bridge does nothing and ``set_callbacks`` does not
exist; everything else works as before.

``_init_callback_context`` is the one private name used here: scikit-learn
1.9's ``CallbackSupportMixin`` provides it to the estimators that support
callbacks, and has no public way to start a fit's callback context. Only the
newest scikit-learn has it (the ``hasattr`` guard keeps older ones working),
and ``pyproject.toml`` bounds scikit-learn above at the newest release tested.
"""

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:

    class CallbackSupportMixin:
        """Stands in for ``sklearn.callback.CallbackSupportMixin`` before scikit-learn 1.9."""


class SklearnCallbackBridge:
    """Reports a fit and its epochs to scikit-learn callbacks, if the estimator has any.

    Parameters
    ----------
    estimator : MLPClassifierBook
    X, y, sample_weight : arrays
        The training data, passed to the hooks (``ScoringMonitor`` scores
        the estimator on them).
    max_epochs : int
        The most epochs this fit runs: the number of subtasks.
    """

    def __init__(self, estimator, X, y, sample_weight, max_epochs):
        self.estimator = estimator
        self.data = {
            "X": X,
            "y": y,
            "metadata": None
            if sample_weight is None
            else {"sample_weight": sample_weight},
        }
        self.context = None
        self.epoch_context = None
        if hasattr(estimator, "_init_callback_context"):
            self.context = estimator._init_callback_context(max_subtasks=max_epochs)
            self.context.call_on_fit_task_begin(estimator=estimator, **self.data)

    def _snapshot(self):
        return {
            "coefs_": [w.copy() for w in self.estimator.coefs_],
            "intercepts_": [b.copy() for b in self.estimator.intercepts_],
        }

    def _active(self):
        return self.context is not None and (
            getattr(self.estimator, "_skl_callbacks", None)
            or hasattr(self.estimator, "_parent_callback_ctx")
        )

    def begin_epoch(self):
        if not self._active():
            return
        self.epoch_context = self.context.subcontext(task_name="epoch")
        self.epoch_context.call_on_fit_task_begin(
            estimator=self.estimator,
            reconstruction_attributes=self._snapshot(),
            **self.data,
        )

    def end_epoch(self):
        """Tell the callbacks an epoch ended; return True if one asks to stop."""
        if self.epoch_context is None:
            return False
        context, self.epoch_context = self.epoch_context, None
        return bool(
            context.call_on_fit_task_end(
                estimator=self.estimator,
                reconstruction_attributes=self._snapshot(),
                **self.data,
            )
        )

    def end_fit(self):
        if self.context is not None:
            self.context.call_on_fit_task_end(
                estimator=self.estimator,
                reconstruction_attributes=self._snapshot(),
                **self.data,
            )
