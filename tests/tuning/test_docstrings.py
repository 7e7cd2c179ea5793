"""Every docstring example of keras_ext.tuning runs as written."""

import doctest
import importlib

import pytest

pytestmark = pytest.mark.tensorflow_only

MODULES = [
    "keras_ext.tuning.hypermodel",
    "keras_ext.tuning.leaderboard",
    "keras_ext.tuning.median_pruning",
    "keras_ext.tuning.search",
    "keras_ext.tuning.trial_history",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module_name} has no docstring example"
    assert result.failed == 0


def test_every_public_class_is_in_the_list():
    import keras_ext.tuning

    modules = {getattr(keras_ext.tuning, name).__module__ for name in keras_ext.tuning.__all__}
    assert modules == set(MODULES)
