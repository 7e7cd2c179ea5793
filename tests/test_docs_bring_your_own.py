"""docs/bring-your-own.md runs as written: its blocks in order, in one empty folder (issue 18, item 5).

The page is a walkthrough, each block leaning on the files the ones before it
wrote, so tests/test_docs.py leaves it to this file, which runs it whole:
a ```python title="NAME"``` block is written to NAME, a ```bash``` block's
`keras-ext ...` lines run through the command line's entry point (in this
process, as `main(argv)`, so that each costs no TensorFlow start-up), and
every other ```python``` block runs and must print the values its comments show.
"""

import contextlib
import io
import os
import re
import shlex
import sys

import keras
import pytest

from keras_ext.cli.main import main
from tests.test_docs import ROOT
from tests.test_docs import WALKTHROUGH_PAGES
from tests.test_docs import assert_shown_values_printed

PAGE = os.path.join(ROOT, "docs", "bring-your-own.md")
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", flags=re.S | re.M)
USER_MODULES = ("mymodels",)

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the page's search runs keras-tuner on TensorFlow"
)


def _blocks():
    """(language, title or None, code) of every fenced block of the page, in order."""
    with open(PAGE) as f:
        text = f.read()
    blocks = []
    for language, info, code in BLOCK.findall(text):
        title = re.search(r'title="([^"]+)"', info)
        blocks.append((language, title.group(1) if title else None, code))
    return blocks


def _run_command_line(line):
    """Run one `[PYTHONPATH=.] keras-ext ARGS` line of a bash block; fail on anything else."""
    words = shlex.split(line)
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        name, value = words.pop(0).split("=", 1)
        # The page sets only PYTHONPATH=., which this process already has (the folder is on sys.path).
        assert (name, value) == ("PYTHONPATH", "."), f"the page's runner does not know {name}={value}"
    assert words[:1] == ["keras-ext"], f"a bash block line the runner cannot run: {line!r}"
    assert main(words[1:]) == 0, f"{line!r} failed"


def test_the_page_is_left_to_this_file():
    assert os.path.basename(PAGE) in WALKTHROUGH_PAGES


def test_every_block_of_the_page_runs_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in USER_MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)
    ran = {"file": 0, "bash": 0, "python": 0}
    for index, (language, title, code) in enumerate(_blocks()):
        if title is not None:
            (tmp_path / title).write_text(code)
            ran["file"] += 1
        elif language == "bash":
            for line in code.splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    _run_command_line(line)
            ran["bash"] += 1
        else:
            assert language == "python", f"block {index} is fenced {language!r}: the runner cannot run it"
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"bring-your-own.md block {index}", "exec"), {})
            assert_shown_values_printed(f"bring-your-own.md block {index}", code, out.getvalue())
            ran["python"] += 1
    for name in USER_MODULES:
        sys.modules.pop(name, None)
    # The page's promise: a user's module, the command line on it and Python on it.
    assert ran["file"] >= 1 and ran["bash"] >= 3 and ran["python"] >= 3, ran
