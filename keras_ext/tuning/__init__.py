"""Hyperparameter search over keras_ext models with keras-tuner.

`SimpleCNNHyperModel` is the search space; `Search` runs it (checked input,
resume, seeded trials, results written to the project directory);
`MedianPruning` and `SuccessiveHalving` stop hopeless trials; `ProjectBusyError` says another live
process is searching the project; `SearchSettingsChanged` says a project
is resumed with another objective or number of epochs than it was searched
with; `TrialHistory` keeps every trial's epochs on disk; `Leaderboard`
ranks the trials.
"""

from keras_ext.tuning._project_lock import ProjectBusyError
from keras_ext.tuning._search_record import SearchSettingsChanged
from keras_ext.tuning.hypermodel import SimpleCNNHyperModel
from keras_ext.tuning.leaderboard import Leaderboard
from keras_ext.tuning.median_pruning import MedianPruning
from keras_ext.tuning.search import Search
from keras_ext.tuning.successive_halving import SuccessiveHalving
from keras_ext.tuning.trial_history import TrialHistory

__all__ = [
    "Leaderboard",
    "MedianPruning",
    "ProjectBusyError",
    "Search",
    "SearchSettingsChanged",
    "SimpleCNNHyperModel",
    "SuccessiveHalving",
    "TrialHistory",
]
