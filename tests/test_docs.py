"""The examples of the README, of the docs pages and of every docstring run as written."""

import contextlib
import doctest
import importlib
import io
import os
import re

import keras
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBPACKAGES = (
    "layers",
    "models",
    "metrics",
    "callbacks",
    "schedules",
    "training",
    "checkpoint",
    "distribute",
    "tuning",
    "data",
    "benchmarking",
)
# Their examples use tf.distribute or keras-tuner on TensorFlow; keras_ext.data's
# pipelines work without TensorFlow (PyDataset), so its examples run on every backend.
TENSORFLOW_SUBPACKAGES = ("distribute", "tuning")
# A ```python block that mentions one of these runs only on the TensorFlow backend.
TENSORFLOW_MARKERS = (
    "tensorflow",
    "tf.data",
    "tf.distribute",
    "keras_ext.distribute",
    "keras_ext.tuning",
    "keras_tuner",
)
# A block that mentions one of these writes something a second run meets.
RERUN_MARKERS = ("CheckpointManager", "Checkpointer", "Search(", "keras_tuner", ".save(")
# Pages whose blocks lean on one another (a file one block writes, the next one reads):
# each runs whole, in order, in a test file of its own (tests/test_docs_<page>.py).
WALKTHROUGH_PAGES = ("bring-your-own.md",)


def _public_modules():
    """(module, subpackage, must_have_example) for every module behind a subpackage's `__all__`.

    Found by discovery, so a new module cannot skip the check: a module
    that defines a public class (other than an exception) must carry a
    docstring example; examples of functions run wherever they exist.
    """
    modules = {}
    for name in SUBPACKAGES:
        package = importlib.import_module(f"keras_ext.{name}")
        for attribute in package.__all__:
            obj = getattr(package, attribute)
            module = getattr(obj, "__module__", "") or ""
            if not (callable(obj) and module.startswith("keras_ext.")):
                continue
            is_class = isinstance(obj, type) and not issubclass(obj, Exception)
            modules[module] = (name, modules.get(module, (name, False))[1] or is_class)
    return sorted((module, name, required) for module, (name, required) in modules.items())


PUBLIC_MODULES = _public_modules()


def _doc_paths():
    """README.md, then every docs/*.md, in a fixed order."""
    docs = os.path.join(ROOT, "docs")
    return [os.path.join(ROOT, "README.md")] + sorted(
        os.path.join(docs, f) for f in os.listdir(docs) if f.endswith(".md")
    )


def _python_blocks(fence="python"):
    """(file, index, code) of every block fenced ```{fence} in README.md and docs/*.md.

    Blocks fenced as ```python run; fence an example that must not run in
    tests (one that needs a package the tests lack, such as Orbax) as ```py
    instead: those are only compiled. A block shown in two places (a README
    example that is also on the site) is listed under its first place
    only, so it runs once.
    """
    blocks, seen = [], set()
    for path in _doc_paths():
        if os.path.basename(path) in WALKTHROUGH_PAGES:
            continue
        text = open(path).read()
        for index, code in enumerate(re.findall(rf"```{fence}\n(.*?)```", text, flags=re.S)):
            if code not in seen:
                seen.add(code)
                blocks.append((os.path.relpath(path, ROOT), index, code))
    return blocks


BLOCKS = _python_blocks()
NOT_RUN = _python_blocks("py")


README_MAX_LINES = 150


def test_readme_has_examples():
    assert len([b for b in BLOCKS if b[0] == "README.md"]) >= 4


def test_readme_is_a_front_page_of_at_most_150_lines():
    # The README is the repository's front page; the long material lives on the site (docs/).
    with open(os.path.join(ROOT, "README.md")) as f:
        lines = f.read().splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines, more than {README_MAX_LINES}: move the detail into a docs/ page "
        "and link it"
    )


def test_readme_examples_are_on_the_site():
    # The site does not show the README, so each README example must also be on a docs page
    # (verbatim: it runs once, under the README).
    docs = [open(path).read() for path in _doc_paths()[1:]]
    for where, index, code in BLOCKS:
        if where == "README.md":
            assert any(f"```python\n{code}```" in text for text in docs), (
                f"README.md block {index} is on no docs/ page; copy it to the page its section links to"
            )


@pytest.mark.parametrize("where, index, block", BLOCKS, ids=[f"{w}:{i}" for w, i, _ in BLOCKS])
def test_python_example_runs(where, index, block, tmp_path, monkeypatch):
    needs_tf = any(k in block for k in TENSORFLOW_MARKERS)
    if needs_tf and keras.backend.backend() != "tensorflow":
        pytest.skip("the example needs TensorFlow")
    if re.search(r"^import jax$", block, flags=re.M) and keras.backend.backend() != "jax":
        pytest.skip("the example is a JAX loop: it runs on the JAX backend")
    monkeypatch.chdir(tmp_path)
    block = block.replace('"/tmp/simple_cnn.keras"', '"simple_cnn.keras"')
    # A user runs a snippet again in the same folder: the README's, and every one that
    # leaves checkpoints, a search or a saved model behind, run twice and must print
    # the same both times.
    # The second run is about the files the first left (the same code on every backend), so
    # it runs on TensorFlow only: on JAX it cost about 50 s of the JAX pass.
    reruns = where == "README.md" or any(k in block for k in RERUN_MARKERS)
    runs = 2 if reruns and keras.backend.backend() == "tensorflow" else 1
    for run in range(1, runs + 1):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, f"{where} block {index} (run {run})", "exec"), {})
        assert_shown_values_printed(f"{where} block {index} (run {run})", block, out.getvalue())


def assert_shown_values_printed(name, block, printed):
    """Where a block shows values (`print(...)  # value`), every print must show one,
    and each must print exactly that value."""
    shown = [m.strip() for m in re.findall(r"^print\(.*\)[ \t]*#[ \t]*(.+)$", block, flags=re.M)]
    if not shown:
        return
    printed = printed.splitlines()
    assert len(printed) == len(shown), f"{name} printed {printed}, comments show {shown}"
    for expected, actual in zip(shown, printed, strict=True):
        assert actual.strip() == expected, f"{name}: printed {actual!r}, comment says {expected!r}"


@pytest.mark.parametrize("where, index, block", NOT_RUN, ids=[f"{w}:py{i}" for w, i, _ in NOT_RUN])
def test_python_example_not_run_compiles(where, index, block):
    compile(block, f"{where} py block {index}", "exec")


@pytest.mark.parametrize(
    "module_name, package, required", PUBLIC_MODULES, ids=[m for m, _, _ in PUBLIC_MODULES]
)
def test_docstring_examples(module_name, package, required, tmp_path, monkeypatch):
    if package in TENSORFLOW_SUBPACKAGES and keras.backend.backend() != "tensorflow":
        pytest.skip("needs TensorFlow")
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 or not required, f"{module_name} has no docstring example"
    assert result.failed == 0
