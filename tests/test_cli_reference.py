"""The site's command-line reference (cli.md) is the `--help` of every command, from the parsers themselves.

docs/gen_pages.py builds the page from `keras_ext_cli.main.build_parser()`
(the console script's, which imports no Keras), which calls each subcommand's
`add_parser` (`keras_ext_cli.<name>`): these tests check that every
option of every subcommand is on the page, in its own command's section,
and that a change to a parser reaches the page with nothing else edited.
The built site is checked in tests/test_api_reference.py (`built_site`).
"""

import importlib
import os
import re

import pytest

from keras_ext_cli import main as cli_main
from tests.test_api_reference import ROOT
from tests.test_api_reference import gen_pages


def _subcommands():
    """{name: parser} of the console script's subcommands."""
    action = next(a for a in cli_main.build_parser()._actions if a.dest == "command")
    return dict(action.choices)


def _sections(page):
    """{heading: text} of the page's `## ...` sections."""
    parts = re.split(r"^## (.+)$", page, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


@pytest.fixture(scope="module")
def page():
    return gen_pages.cli_page()


def test_every_subcommand_has_a_section_with_its_usage(page):
    sections = _sections(page)
    assert set(_subcommands()) == set(cli_main.SUBCOMMANDS)
    assert list(sections) == ["keras-ext", *(f"keras-ext {name}" for name in cli_main.SUBCOMMANDS)]
    for name in cli_main.SUBCOMMANDS:
        assert f"usage: keras-ext {name} " in sections[f"keras-ext {name}"]


@pytest.mark.parametrize("name", cli_main.SUBCOMMANDS)
def test_the_page_lists_every_option_of_every_subcommand(page, name):
    section = _sections(page)[f"keras-ext {name}"]
    parser = _subcommands()[name]
    options = [option for action in parser._actions for option in action.option_strings]
    assert "--help" in options and len(options) > 3
    for option in options:
        # As a word of its own: "--epochs" must not pass on the strength of "--epochs-per-trial".
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", section), (
            f"the command-line reference's keras-ext {name} section lacks {option}"
        )


def test_a_new_option_reaches_the_page_from_the_parser_alone(monkeypatch):
    train = importlib.import_module("keras_ext_cli.train")
    add_parser = train.add_parser

    def add_parser_with_a_new_option(subparsers):
        parser = add_parser(subparsers)
        parser.add_argument("--brand-new-option", default=7, help="added by the test (default: %(default)s)")
        return parser

    monkeypatch.setattr(train, "add_parser", add_parser_with_a_new_option)
    section = _sections(gen_pages.cli_page())["keras-ext train"]
    assert "--brand-new-option BRAND_NEW_OPTION" in section
    assert "added by the test (default: 7)" in section


def test_the_page_does_not_depend_on_the_terminal_width(monkeypatch, page):
    monkeypatch.setenv("COLUMNS", "40")
    assert gen_pages.cli_page() == page
    assert os.environ["COLUMNS"] == "40"


def test_the_page_is_in_the_navigation_and_linked_from_the_command_line_guide():
    with open(os.path.join(ROOT, "mkdocs.yml")) as f:
        assert re.search(r"^  - Command-line reference: cli\.md$", f.read(), flags=re.M)
    with open(os.path.join(ROOT, "docs", "command-line.md")) as f:
        assert "](cli.md)" in f.read()
