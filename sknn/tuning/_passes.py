"""The passes over the stages: each stage in order, then those decided on the score again.

Chapter 3 tunes one hyper-parameter at a time, each with the choices of
those before it; "in practice, it helps to bounce backward and forward,
gradually closing in on good values". A :class:`_Run` holds what the stages
share; this runs them, pass after pass, and records what each chose.
"""

from __future__ import annotations

import math


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
    last_change = None  # where, in the order of ``stages``, the last pass changed one
    for pass_number in _passes(run.settings):
        run.pass_number = pass_number
        later = pass_number > 1
        todo = [s for s in stages if s.repeated] if later else stages
        changed_at = None
        for number, stage in enumerate(todo, 1):
            where = f"{number}/{len(todo)} {stage.name}"
            if later:
                if changed_at is None and stages.index(stage) > last_change:
                    run.passes_ended = (
                        f"pass {pass_number} changed no choice; the stages after "
                        f"{todo[number - 2].name} would choose as in pass "
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
                changed_at = stages.index(stage)
            run.log(f"{where}: {result.reason}")
        last_change = changed_at
        first_repeated = min(
            (i for i, s in enumerate(stages) if s.repeated), default=None
        )
        if (
            last_change is None
            or first_repeated is None
            or last_change < first_repeated
        ):
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
    limit = settings["max_passes"]
    if limit is None:
        limit = 1 if settings["max_time"] is None else math.inf
    number = 1
    while number <= limit:
        yield number
        number += 1


def _run_stage(run, stage):
    """Run ``stage`` if the budget allows its fits and the refit, else skip it."""
    units = stage.planned_units(run)
    if units is not None:
        ok, why = run.affords([units], run.refit_units())
        if not ok:
            return stage.skipped(run, why)
    return stage.run(run)
