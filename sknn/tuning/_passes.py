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
    for at least one more fit and the refit (see :func:`_passes`).

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
    for pass_number in _passes(run.settings):
        run.pass_number = pass_number
        changed = False
        later = run.pass_number > 1
        todo = [stage for stage in stages if stage.repeated] if later else stages
        for number, stage in enumerate(todo, 1):
            where = f"{number}/{len(todo)} {stage.name}"
            if later:
                where = f"pass {run.pass_number}, {where}"
                ok, why = run.affords([run.search_units([{}])], run.refit_units())
                if not ok:
                    run.passes_ended = (
                        f"pass {run.pass_number} stopped before {stage.name} ({why})"
                        if number > 1
                        else f"pass {run.pass_number} not run ({why})"
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
            result.pass_number = run.pass_number
            results.append(result)
            if not result.skipped:
                changed = (
                    run.choose(stage.param, result) and stage.repeated
                ) or changed
            run.log(f"{where}: {result.reason}")
        if not changed:  # the next pass would fit nothing new
            if later:
                run.passes_ended = f"pass {run.pass_number} changed no choice"
            break
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
