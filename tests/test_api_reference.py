"""The documentation site's generated pages: every public name is in the API reference.

docs/gen_pages.py (run by `mkdocs build`) reads each subpackage's `__all__`
from the source; these tests import the packages instead and check the
generated Markdown names everything they export, that no subpackage is
left out, and that every page is in the navigation. `mkdocs build --strict`
itself runs in .ci/run.
"""

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
GENERATED = ("index.md", "getting-started.md", "benchmarks.md")


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


def test_getting_started_shows_the_readme_commands():
    readme = open(os.path.join(ROOT, "README.md")).read()
    page = gen_pages.getting_started_page()
    assert "keras-ext train --output runs/train" in page
    assert "python3 -m pytest -q tests" in page
    for marker in ("main-command", "test-command"):
        assert gen_pages.marked_block(readme, marker) in page


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
