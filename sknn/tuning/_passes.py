"""The passes over the stages: each stage in order, then those decided on the score again.

Chapter 3 tunes one hyper-parameter at a time, each with the choices of
those before it; "in practice, it helps to bounce backward and forward,
gradually closing in on good values". A :class:`_Run` holds what the stages
share; this runs them, pass after pass, and records what each chose.
"""

from __future__ import annotations

import itertools


def run_stages(run, stages, progress):
    """Run ``stages`` in order, each with the choices of those before it.

    Then, up to ``max_passes`` passes in all, run the ``repeated`` stages
    again while the last pass changed a choice and the budget has room
    for at least one more fit and the refit (see :func:`_passes`). A later
    pass ends, too, once it has run, without a change of its own, the
    stage that made the last pass's last change: the stages after it
    would see the settings they saw then, and choose as they did.

    Returns
    -------
    results : list of StageResult
        One per stage finished.
    interrupted : str or None
        The stage Ctrl-C stopped; the stages before it keep their
        choices. Ctrl-C during the first stage, before anything was
        chosen, is raised.
    """
    results = []
    placed = list(enumerate(stages))  # each stage with its place in the first pass
    repeated = [(place, stage) for place, stage in placed if stage.repeated]
    last_change = None  # the place of the last pass's last change
    for pass_number in _passes(run.settings):
        run.pass_number = pass_number
        later = pass_number > 1
        todo = repeated if later else placed
        changed_at = None
        for number, (place, stage) in enumerate(todo, 1):
            where = f"{number}/{len(todo)} {stage.name}"
            if later:
                if changed_at is None and place > last_change:
                    run.passes_ended = (
                        f"pass {pass_number} changed no choice; the stages after "
                        f"{todo[number - 2][1].name} would choose as in pass "
                        f"{pass_number - 1}"
                    )
                    return results, None
                where = f"pass {pass_number}, {where}"
                ok, why = run.affords([run.search_units([{}])], run.refit_units())
                if not ok:
                    run.passes_ended = (
                        f"pass {pass_number} stopped before {stage.name} ({why})"
                        if number > 1
                        else f"pass {pass_number} not run ({why})"
                    )
                    return results, None
            run.log(f"{where} ...")
            progress.begin_stage(stage.name)
            try:
                result = _run_stage(run, stage)
            except KeyboardInterrupt:
                if not results:
                    raise  # nothing chosen yet: nothing to keep
                return results, stage.name
            progress.end_stage(len(result.tried))
            result.pass_number = pass_number
            results.append(result)
            if not result.skipped and run.choose(stage.param, result):
                changed_at = place
            run.log(f"{where}: {result.reason}")
        last_change = changed_at
        if last_change is None or not repeated or last_change < repeated[0][0]:
            if later:
                run.passes_ended = f"pass {pass_number} changed no choice"
            break  # the next pass would see the settings its stages saw
    return results, None


def _passes(settings):
    """The pass numbers: 1, 2, ... up to ``max_passes``.

    Chapter 3: "it helps to bounce backward and forward, gradually
    closing in on good values" (a width chosen after the activation
    may favour another activation). None: as many as ``max_time``
    leaves room for, one without it. A later pass runs only the
    ``repeated`` stages, each keeping the setting so far unless another
    scores better, so it can only gain; it ends when the budget has no room
    for another fit and the refit (``passes_ended`` says why).
    """
    if one_pass(settings):
        return range(1, 2)
    limit = settings["max_passes"]
    return itertools.count(1) if limit is None else range(1, limit + 1)


def one_pass(settings):
    """Whether the stages run once: ``max_passes=1``, or None without ``max_time``."""
    return settings["max_passes"] == 1 or (
        settings["max_passes"] is None and settings["max_time"] is None
    )


def _run_stage(run, stage):
    """Run ``stage`` if the budget allows its fits and the refit, else skip it."""
    units = stage.planned_units(run)
    if units is not None:
        ok, why = run.affords([units], run.refit_units())
        if not ok:
            return stage.skipped(run, why)
    return stage.run(run)
