"""The recorded mutation run is complete, all killed, and is what docs/mutations.md shows.

Running the mutations takes about ten minutes, so CI does not; this cheap
check makes sure the record is not stale: a mutation added to
tools/mutations.py without a new run, or a table edited by hand, fails here.
"""

import importlib.util
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tool():
    spec = importlib.util.spec_from_file_location("mutations", os.path.join(ROOT, "tools", "mutations.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record():
    with open(os.path.join(ROOT, "docs", "mutations.json"), encoding="utf-8") as f:
        return json.load(f)


def test_every_mutation_was_run_and_killed():
    record = _record()
    assert [r["name"] for r in record["results"]] == [m.name for m in _tool().MUTATIONS]
    survivors = [(r["name"], r["status"], r["detail"]) for r in record["results"] if r["status"] != "killed"]
    assert not survivors


def test_docs_page_shows_the_recorded_table():
    with open(os.path.join(ROOT, "docs", "mutations.md"), encoding="utf-8") as f:
        page = f.read()
    assert _tool().markdown_table(_record()) in page


def test_every_mutation_still_applies():
    """Each snippet occurs exactly once where it is planted: code that moved fails here, not in a
    ten-minute run."""
    for mutation in _tool().MUTATIONS:
        with open(os.path.join(ROOT, mutation.path), encoding="utf-8") as f:
            count = f.read().count(mutation.old)
        assert count == 1, f"{mutation.name}: its snippet occurs {count} times in {mutation.path}"
