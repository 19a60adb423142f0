"""A search's progress told to scikit-learn's callbacks (scikit-learn >= 1.9).

``BookSearchCV.set_callbacks(ProgressBar())`` shows the search as a tree of
tasks, as ``GridSearchCV`` does: the fit is the root task; each stage is one of
its subtasks, and each candidate the stage tried (a learning rate, a width, a
lambda) one of the stage's; the refit is the last subtask, and the refit
network's epochs are merged into it, so its own progress bar shows them.

A stage's candidates are known only when it ends (the architecture stage
grows until the score stops improving; most stages score all their
candidates in one parallel batch), so a stage has no total in advance and its
candidates are reported as it ends. The cross-validation fits inside a stage
are not reported: at hundreds of fits, their bars would bury the stages.

scikit-learn has no public way to start a fit's callback context; like
``sknn._sklearn_callbacks`` this calls ``_init_callback_context``, which the
``CallbackSupportMixin`` provides, and does nothing when it is absent.
"""

from contextlib import contextmanager


class _SearchProgress:
    """Reports the stages, their candidates and the refit of one ``fit``.

    Parameters
    ----------
    search : BookSearchCV
    X, y : arrays
        The data of the fit, passed to the callbacks' hooks.
    n_stages : int or None
        The stages to run; with the refit, the root task's subtasks. None
        when later passes may run more.
    """

    def __init__(self, search, X, y, n_stages):
        self.search = search
        self.data = {"X": X, "y": y}
        self.root = self.stage = None
        if hasattr(search, "_init_callback_context"):
            self.root = search._init_callback_context(
                max_subtasks=None if n_stages is None else n_stages + 1
            )
            self.root.call_on_fit_task_begin(estimator=search, **self.data)

    def begin_stage(self, name):
        if self.root is not None:
            self.stage = self.root.subcontext(task_name=name, max_subtasks=None)
            self.stage.call_on_fit_task_begin(estimator=self.search, **self.data)

    def end_stage(self, n_candidates):
        """End the running stage after reporting each of its ``n_candidates``."""
        if self.stage is None:
            return
        for _ in range(n_candidates):
            candidate = self.stage.subcontext(task_name="candidate")
            candidate.call_on_fit_task_begin(estimator=self.search, **self.data)
            candidate.call_on_fit_task_end(estimator=self.search, **self.data)
        self.stage.call_on_fit_task_end(estimator=self.search, **self.data)
        self.stage = None

    @contextmanager
    def refit(self, estimator):
        """Around the refit: ``estimator``'s own tasks join the search's tree."""
        if self.root is None:
            yield
            return
        task = self.root.subcontext(task_name="refit")
        with task.propagate_callback_context(estimator):
            task.call_on_fit_task_begin(estimator=self.search, **self.data)
            yield
        task.call_on_fit_task_end(estimator=self.search, **self.data)

    def end(self):
        if self.root is not None:
            self.root.call_on_fit_task_end(estimator=self.search, **self.data)
