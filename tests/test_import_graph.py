"""The training loop stays a training loop: the benchmark harness lives in `keras_ext.benchmarking`;
the console script's front, `keras_ext_cli`, imports the standard library (and filelock) only.

`keras_ext.benchmarking` may import `keras_ext.training`, never the other
way; only the command line imports the harness. `keras_ext_cli` (`main`, the
parsers, the defaults, the directory lock) may be imported by keras_ext, never
the other way, so `keras-ext --help`, and a refusal of a checkpoint directory in
use, start no backend. Read from the source with `ast`, so a
lazy import inside a function counts too.
"""

import ast
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "keras_ext")
CLI_FRONT = os.path.join(ROOT, "keras_ext_cli")

# What the harness needs and the training loop does not: the harness itself, its
# statistics, plotting and environment record, and the model factory it trains.
NOT_IN_TRAINING = ("keras_ext.benchmarking", "keras_ext.models", "matplotlib", "statistics", "platform")


def _modules(folder):
    for directory, _, names in os.walk(folder):
        for name in sorted(names):
            if name.endswith(".py"):
                yield os.path.relpath(os.path.join(directory, name), ROOT)


def _imports(path):
    """Every module `path` imports (`import a.b` -> a.b; `from a import b` -> a and a.b)."""
    tree = ast.parse(open(os.path.join(ROOT, path), encoding="utf-8").read(), path)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _offenders(paths, forbidden):
    return [
        f"{path} imports {name}"
        for path in paths
        for name in sorted(_imports(path))
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


def test_training_imports_no_benchmark_harness():
    paths = list(_modules(os.path.join(PACKAGE, "training")))
    assert os.path.join("keras_ext", "training", "trainer.py") in paths
    assert not _offenders(paths, NOT_IN_TRAINING)


def test_only_the_command_line_imports_the_harness():
    outside = [
        path
        for path in _modules(PACKAGE)
        if not path.startswith((os.path.join("keras_ext", "benchmarking"), os.path.join("keras_ext", "cli")))
    ]
    assert not _offenders(outside, ("keras_ext.benchmarking",))


def test_the_console_script_s_front_imports_the_standard_library_and_filelock_only():
    # importlib.import_module("keras_ext.cli.<command>") in main is the one way in, after parsing.
    # filelock (pure Python, no backend) is the directory lock's.
    paths = list(_modules(CLI_FRONT))
    assert os.path.join("keras_ext_cli", "main.py") in paths
    imported = {name.split(".")[0] for path in paths for name in _imports(path)}
    assert imported - {"keras_ext_cli", "filelock"} <= set(sys.stdlib_module_names), imported


def test_the_check_sees_lazy_and_from_imports(tmp_path):
    # The check itself: an import inside a function, and `from keras_ext import benchmarking`.
    source = "def f():\n    from keras_ext import benchmarking\n    import matplotlib.pyplot\n"
    path = tmp_path / "m.py"
    path.write_text(source)
    relative = os.path.relpath(path, ROOT)
    assert len(_offenders([relative], NOT_IN_TRAINING)) == 2
