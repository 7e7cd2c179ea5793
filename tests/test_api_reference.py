"""The documentation site's generated pages: every public name is in the API reference.

docs/gen_pages.py (run by `mkdocs build`) reads each subpackage's `__all__`
from the source; these tests import the packages instead and check the
generated Markdown names everything they export, that no subpackage is
left out, that every page is in the navigation (the contributor pages in a
section of their own), and that the hand-written pages show the README's
set-up commands verbatim. `mkdocs build --strict` itself runs in .ci/run,
followed by the `built_site` tests here.
"""

import html
import importlib
import importlib.util
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_gen_pages():
    spec = importlib.util.spec_from_file_location("gen_pages", os.path.join(ROOT, "docs", "gen_pages.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_pages = _load_gen_pages()
MKDOCS_YML = open(os.path.join(ROOT, "mkdocs.yml")).read()
GENERATED = ("cli.md", "benchmarks.md")
# The pages for people who change keras_ext: a navigation section of their own.
CONTRIBUTOR_PAGES = ("contributing.md", "design.md", "mutations.md")


def _subpackages_on_disk():
    package = os.path.join(ROOT, "keras_ext")
    return {
        name
        for name in os.listdir(package)
        if os.path.exists(os.path.join(package, name, "__init__.py")) and not name.startswith("_")
    }


def test_every_subpackage_but_the_command_line_has_a_reference_page():
    assert set(gen_pages.SUBPACKAGES) == _subpackages_on_disk() - {"cli"}


@pytest.mark.parametrize("name", [*gen_pages.SUBPACKAGES, *gen_pages.MODULES])
def test_reference_page_names_everything_the_module_exports(name):
    module = importlib.import_module(f"keras_ext.{name}")
    page = gen_pages.reference_page(name)
    documented = re.findall(rf"^::: keras_ext\.{name}\.(\w+)$", page, flags=re.M)
    assert sorted(documented) == sorted(module.__all__)
    for public in module.__all__:
        assert hasattr(module, public), f"keras_ext.{name}.__all__ names {public!r}, which it lacks"
    assert f"reference/{name}.md" in MKDOCS_YML


def test_every_page_is_in_the_navigation():
    docs = os.path.join(ROOT, "docs")
    written = [f for f in os.listdir(docs) if f.endswith(".md")]
    for page in [*written, *GENERATED, "reference/index.md"]:
        assert re.search(rf"\s{re.escape(page)}\s", MKDOCS_YML), f"{page} is not in mkdocs.yml's nav"


def _marked_block(text, marker):
    match = re.search(rf"<!-- {marker} -->\n(.*?)<!-- /{marker} -->", text, flags=re.S)
    assert match is not None, f"README.md has no <!-- {marker} --> block"
    return match.group(1).strip()


def _nav_sections():
    """{section title: [pages]} of mkdocs.yml's nav; a page at the top level is its own section."""
    nav = MKDOCS_YML[MKDOCS_YML.index("\nnav:\n") : MKDOCS_YML.index("\nplugins:")]
    sections, current = {}, None
    for line in nav.splitlines():
        top = re.match(r"^  - ([^:]+):\s*(\S+\.md)?\s*$", line)
        if top:
            current = top.group(1)
            sections[current] = [top.group(2)] if top.group(2) else []
            continue
        page = re.match(r"^\s{6,}- (?:[^:]+:\s*)?(\S+\.md)\s*$", line)
        if page and current is not None:
            sections[current].append(page.group(1))
    return sections


def _page(name):
    with open(os.path.join(ROOT, "docs", name)) as f:
        return f.read()


# Hand-written pages that show the README's set-up commands: each must show them verbatim.
PAGES_WITH_COMMANDS = {
    "index.md": ("main-command", "test-command"),
    "getting-started.md": ("main-command",),
    "contributing.md": ("test-command",),
}


@pytest.mark.parametrize("page", sorted(PAGES_WITH_COMMANDS))
def test_pages_show_the_readme_commands_verbatim(page):
    readme = open(os.path.join(ROOT, "README.md")).read()
    text = _page(page)
    for marker in PAGES_WITH_COMMANDS[page]:
        assert _marked_block(readme, marker) in text, f"docs/{page} does not show the README's {marker}"


def test_the_home_page_is_a_front_page_that_leads_to_every_page():
    home = _page("index.md")
    readme = open(os.path.join(ROOT, "README.md")).read()
    assert home.strip() != readme.strip()
    assert "keras-ext train --output runs/train" in home and "python3 -m pytest -q tests" in home
    linked = set(re.findall(r"\]\(([^)#\s]+)", home))
    for title, pages in _nav_sections().items():
        # The API reference's own index leads on to its subpackages.
        for page in pages if title != "API reference" else pages[:1]:
            if page != "index.md":
                assert page in linked, f"the home page does not link {page} ({title})"


def test_contributor_pages_have_a_navigation_section_of_their_own():
    sections = _nav_sections()
    assert sorted(sections["Contributing"]) == sorted(CONTRIBUTOR_PAGES)
    for title, pages in sections.items():
        if title != "Contributing":
            assert not set(pages) & set(CONTRIBUTOR_PAGES), f"{title} holds a contributor page"


def test_the_command_line_and_comparison_pages_are_in_the_user_navigation():
    sections = _nav_sections()
    assert sections["Command-line reference"] == ["cli.md"]
    assert {"command-line.md", "checkpoint-comparison.md", "building-blocks.md"} <= set(sections["Guides"])


def test_docs_and_readme_link_only_inside_the_repository():
    paths = [os.path.join(ROOT, "README.md")]
    paths += [
        os.path.join(ROOT, "docs", f) for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md")
    ]
    for path in paths:
        text = open(path).read()
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        # "../x" leaves the repository (README) or the docs folder; "..." is an ellipsis.
        assert not re.search(r"(?<![.\w])\.\./", prose), f"{path} points outside its folder"
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if target.startswith(("http://", "https://")):
                continue
            base = ROOT if path.endswith("README.md") else os.path.join(ROOT, "docs")
            # Pages and pictures the docs build generates (gen_pages.generate) are not on disk.
            if target in GENERATED or target.startswith(("images/", "reference/")):
                continue
            assert os.path.exists(os.path.join(base, target)), f"{path} links to missing {target}"


def test_the_example_pictures_the_docs_show_are_drawn(tmp_path):
    from PIL import Image

    from keras_ext import plots

    pictures = gen_pages.example_pictures(str(tmp_path))
    assert set(pictures) == {"images/history.png", "images/trials.png"}
    sizes = {"images/history.png": plots.HISTORY_SIZE, "images/trials.png": plots.TRIALS_SIZE}
    for site_path, path in pictures.items():
        with Image.open(path) as image:
            assert image.size == tuple(round(v * plots.DPI) for v in sizes[site_path])


def test_keras_ext_exports_every_subpackage():
    import keras_ext

    assert _subpackages_on_disk() <= set(keras_ext.__all__)
    for name in keras_ext.__all__:
        assert getattr(keras_ext, name) is not None


@pytest.mark.skipif(not os.environ.get("KERAS_EXT_SITE_DIR"), reason="set KERAS_EXT_SITE_DIR to a built site")
@pytest.mark.parametrize("name", [*gen_pages.SUBPACKAGES, *gen_pages.MODULES])
def test_built_site_has_an_entry_for_every_public_name(name):
    # .ci/run builds the site, then runs this with KERAS_EXT_SITE_DIR set: each
    # exported name must have rendered (mkdocstrings gives it an anchor).
    page = os.path.join(os.environ["KERAS_EXT_SITE_DIR"], "reference", name, "index.html")
    html = open(page).read()
    missing = [n for n in gen_pages.public_names(name) if f'id="keras_ext.{name}.{n}"' not in html]
    assert not missing, f"{page} has no entry for {missing}"


@pytest.mark.skipif(not os.environ.get("KERAS_EXT_SITE_DIR"), reason="set KERAS_EXT_SITE_DIR to a built site")
def test_built_site_has_the_front_page_the_cli_reference_and_the_comparison():
    def text(page):  # the page's text, without the highlighter's markup
        with open(os.path.join(os.environ["KERAS_EXT_SITE_DIR"], page)) as f:
            return html.unescape(re.sub(r"<[^>]+>", "", f.read()))

    home = text("index.html")
    assert "keras-ext train --output runs/train" in home and "python3 -m pytest -q tests" in home
    comparison = text("checkpoint-comparison/index.html")
    for name in ("BackupAndRestore", "ModelCheckpoint", "OrbaxCheckpoint", "tf.train.CheckpointManager"):
        assert name in comparison
    from keras_ext.cli.main import build_parser

    cli = text("cli/index.html")
    subcommands = next(a for a in build_parser()._actions if a.dest == "command").choices
    for name, parser in subcommands.items():
        assert f"usage: keras-ext {name}" in cli
        for action in parser._actions:
            for option in action.option_strings:
                assert option in cli, f"the built command-line reference lacks keras-ext {name} {option}"
