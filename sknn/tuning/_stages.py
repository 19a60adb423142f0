"""The stage objects by name, in the order of :data:`STAGES`."""

from __future__ import annotations

from ._batch_size import _BatchSize
from ._epochs import _Epochs
from ._lambda import _Lambda
from ._learning_rate import _LearningRate
from ._threshold import _LearningRateThreshold

_STAGE_CLASSES = {
    stage.name: stage
    for stage in (
        _LearningRateThreshold(),
        _Epochs(),
        _Lambda(),
        _LearningRate(),
        _BatchSize(),
    )
}
