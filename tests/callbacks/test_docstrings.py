"""The docstring examples of keras_ext.callbacks run as written (tests/test_docs.py lists other modules)."""

import doctest
import importlib

import pytest

MODULES = [
    "keras_ext.callbacks.checkpoint_manager",
    "keras_ext.callbacks.learning_rate_logger",
    "keras_ext.callbacks.reduce_lr_on_plateau",
]


def run_doctests(module_name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module_name} has no docstring example"
    assert result.failed == 0


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name, tmp_path, monkeypatch):
    run_doctests(module_name, tmp_path, monkeypatch)
