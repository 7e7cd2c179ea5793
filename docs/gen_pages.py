"""Pages the documentation build generates (mkdocs-gen-files runs this on every `mkdocs build`).

Generated rather than written by hand, so they cannot drift from their source:

- `index.md` and `getting-started.md` from README.md (the getting-started
  commands are the README's marked main and test commands);
- `benchmarks.md` from benchmarks/RESULTS.md, with the charts beside it;
- `reference/<subpackage>.md`: one entry per name in each subpackage's
  `__all__` (read from the source, so a new public name is documented the
  moment it is exported);
- `images/history.png` and `images/trials.png`, drawn by `keras_ext.plots`
  from the outputs of real `keras-ext train` / `keras-ext tune` runs kept
  in docs/examples/.

It needs no ML backend: `__all__` is read with `ast`, and the plots module
(which imports nothing from Keras) is loaded from its file, so
`pip install -e ".[docs]"` is enough to build the site.
"""

import ast
import importlib.util
import json
import os
import re
import shutil
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Every public subpackage, in the order of the data flow (tests/test_api_reference.py
# checks that this list names every subpackage of keras_ext except the CLI).
SUBPACKAGES = (
    "layers",
    "models",
    "metrics",
    "callbacks",
    "schedules",
    "training",
    "checkpoint",
    "distribute",
    "data",
    "tuning",
    "benchmarking",
)
# Public modules that are not subpackages.
MODULES = ("plots",)


def public_names(name):
    """The names in `keras_ext.<name>.__all__`, read from the source without importing it."""
    path = os.path.join(ROOT, "keras_ext", *name.split("."))
    path = os.path.join(path, "__init__.py") if os.path.isdir(path) else path + ".py"
    tree = ast.parse(open(path).read(), path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise ValueError(f"{path} defines no __all__; the API reference is built from it.")


def reference_page(name):
    """The Markdown source of `reference/<name>.md`: the module's summary, then each public name."""
    lines = [
        f"# `keras_ext.{name}`",
        "",
        f"::: keras_ext.{name}",
        "    options:",
        "      members: false",
        "      show_root_heading: false",
        "      show_root_toc_entry: false",
        "",
    ]
    for public in public_names(name):
        lines += [f"::: keras_ext.{name}.{public}", ""]
    return "\n".join(lines)


def reference_index():
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings of every name each subpackage exports in `__all__`.",
        "",
    ]
    for name in (*SUBPACKAGES, *MODULES):
        names = ", ".join(f"`{n}`" for n in public_names(name))
        lines.append(f"- [`keras_ext.{name}`]({name}.md): {names}")
    return "\n".join(lines) + "\n"


def readme_page():
    """README.md as the home page, its links to docs/ made relative to the site."""
    text = open(os.path.join(ROOT, "README.md")).read()
    text = text.replace("](benchmarks/RESULTS.md)", "](benchmarks.md)")
    return re.sub(r"\]\(docs/", "](", text)


def marked_block(text, marker):
    match = re.search(rf"<!-- {marker} -->\n(.*?)<!-- /{marker} -->", text, flags=re.S)
    if match is None:
        raise ValueError(f"README.md has no <!-- {marker} --> block.")
    return match.group(1).strip()


def getting_started_page():
    readme = open(os.path.join(ROOT, "README.md")).read()
    return "\n\n".join(
        [
            "# Getting started",
            "Install keras_ext and train SimpleCNN offline on the built-in digits dataset "
            "(about a minute on 2 CPU cores; it prints the validation accuracy and writes "
            "`runs/train/model.keras`, `metrics.json` and [`history.png`](pictures.md)):",
            marked_block(readme, "main-command"),
            "Install the test tools and run the tests, as CI does:",
            marked_block(readme, "test-command"),
            "Then read about [the custom training loop](training.md), "
            "[checkpoints and exact resume](checkpointing.md), "
            "[hyperparameter search](tuning.md) and [several devices](distribute.md).",
            "",
        ]
    )


def benchmark_charts():
    """(backend folder, chart path) of every chart benchmarks/results holds."""
    results = os.path.join(ROOT, "benchmarks", "results")
    return [
        (backend, os.path.join(results, backend, "chart.png"))
        for backend in sorted(os.listdir(results))
        if os.path.exists(os.path.join(results, backend, "chart.png"))
    ]


def benchmarks_page():
    text = open(os.path.join(ROOT, "benchmarks", "RESULTS.md")).read().rstrip() + "\n"
    charts = benchmark_charts()
    if charts:
        text += "\n## Charts\n"
        for backend, _ in charts:
            text += f"\n`benchmarks/results/{backend}/chart.png`:\n\n![{backend}](benchmarks/{backend}/chart.png)\n"
    return text


def load_plots():
    """keras_ext/plots.py loaded from its file: importing `keras_ext` would need a Keras backend."""
    spec = importlib.util.spec_from_file_location(
        "keras_ext_plots", os.path.join(ROOT, "keras_ext", "plots.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def example_pictures(directory):
    """Draw the example pictures into `directory`; return {site path: file}."""
    plots = load_plots()
    examples = os.path.join(ROOT, "docs", "examples")
    metrics = json.load(open(os.path.join(examples, "train", "metrics.json")))
    history = plots.plot_history(
        metrics["history"], os.path.join(directory, "history.png"), epochs=metrics["history_epochs"]
    )
    project = os.path.join(examples, "tune", "simplecnn")
    best = json.load(open(os.path.join(project, "best_hyperparameters.json")))
    trials = plots.plot_trials(project, best["objective"], os.path.join(directory, "trials.png"))
    return {"images/history.png": history, "images/trials.png": trials}


def generate(open_file):
    """Write every generated page with `open_file(site_path, mode)`."""
    pages = {
        "index.md": readme_page(),
        "getting-started.md": getting_started_page(),
        "benchmarks.md": benchmarks_page(),
        "reference/index.md": reference_index(),
    }
    for name in (*SUBPACKAGES, *MODULES):
        pages[f"reference/{name}.md"] = reference_page(name)
    for site_path, text in pages.items():
        with open_file(site_path, "w") as f:
            f.write(text)
    files = {f"benchmarks/{backend}/chart.png": path for backend, path in benchmark_charts()}
    with tempfile.TemporaryDirectory() as tmp:
        files.update(example_pictures(tmp))
        for site_path, path in files.items():
            with open(path, "rb") as src, open_file(site_path, "wb") as dst:
                shutil.copyfileobj(src, dst)


# mkdocs-gen-files runs this file with runpy.run_path (name "<run_path>"); tests import it.
if __name__ in ("__main__", "<run_path>"):
    import mkdocs_gen_files

    generate(mkdocs_gen_files.open)
