"""The README's examples and every docstring example run as written."""

import contextlib
import doctest
import importlib
import io
import os
import re

import keras
import pytest

import keras_ext

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCTEST_MODULES = [
    "keras_ext.layers.linear",
    "keras_ext.layers.conv_block",
    "keras_ext.models.simple_cnn",
    "keras_ext.models.fashion_cnn",
    "keras_ext.metrics.categorical_true_positives",
    "keras_ext.training.trainer",
]
TENSORFLOW_DOCTEST_MODULES = ["keras_ext.data.load"]


def _readme_python_blocks():
    text = open(os.path.join(ROOT, "README.md")).read()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_examples():
    assert len(_readme_python_blocks()) >= 4


@pytest.mark.parametrize("index", range(len(_readme_python_blocks())))
def test_readme_python_example_runs(index, tmp_path, monkeypatch):
    block = _readme_python_blocks()[index]
    if "keras_ext.data" in block and keras.backend.backend() != "tensorflow":
        pytest.skip("keras_ext.data needs TensorFlow")
    monkeypatch.chdir(tmp_path)
    block = block.replace('"/tmp/simple_cnn.keras"', '"simple_cnn.keras"')
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, f"README.md block {index}", "exec"), {})
    # Every `print(...)  # value` line must print exactly the value its comment shows.
    shown = [m.strip() for m in re.findall(r"^print\(.*\)[ \t]*#[ \t]*(.+)$", block, flags=re.M)]
    printed = out.getvalue().splitlines()
    assert len(printed) == len(shown), f"README block {index} printed {printed}, comments show {shown}"
    for expected, actual in zip(shown, printed):
        assert actual.strip() == expected, f"README block {index}: printed {actual!r}, comment says {expected!r}"


@pytest.mark.parametrize("module_name", DOCTEST_MODULES + TENSORFLOW_DOCTEST_MODULES)
def test_docstring_examples(module_name):
    if module_name in TENSORFLOW_DOCTEST_MODULES and keras.backend.backend() != "tensorflow":
        pytest.skip("needs TensorFlow")
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module_name} has no docstring example"
    assert result.failed == 0
