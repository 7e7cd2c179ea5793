"""The docstring examples of keras_ext.schedules run as written."""

import pytest

from tests.callbacks.test_docstrings import run_doctests

MODULES = [
    "keras_ext.schedules.linear_warmup",
    "keras_ext.schedules.scaled_schedule",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name, tmp_path, monkeypatch):
    run_doctests(module_name, tmp_path, monkeypatch)
