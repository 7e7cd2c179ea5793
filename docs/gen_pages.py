"""Pages the documentation build generates (mkdocs-gen-files runs this on every `mkdocs build`).

Generated rather than written by hand, so they cannot drift from their source:

- `cli.md`, the command-line reference: the `--help` of `keras-ext` and of
  each subcommand, formatted by the argparse parsers that `keras_ext_cli`'s
  `add_parser` functions build (nothing is run; a new option or a changed
  help text reaches the page at the next build);
- `benchmarks.md` from benchmarks/RESULTS.md, with the charts beside it;
- `reference/<subpackage>.md`: one entry per name in each subpackage's
  `__all__` (read from the source, so a new public name is documented the
  moment it is exported);
- `images/history.png` and `images/trials.png`, drawn by `keras_ext.plots`
  from the outputs of real `keras-ext train` / `keras-ext tune` runs kept
  in docs/examples/.

`__all__` is read with `ast`, and the plots module (which imports nothing
from Keras) is loaded from its file. The command-line page imports the
parsers from `keras_ext_cli`, which imports neither keras_ext nor Keras.
"""

import ast
import importlib.util
import json
import os
import shutil
import sys
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


# The width argparse wraps the help at on the page (it otherwise follows the terminal's).
CLI_HELP_COLUMNS = 88


def cli_parsers():
    """[(command, parser)]: `keras-ext` itself, then each subcommand in the order it registers.

    The parsers are the console script's own (`keras_ext_cli.main.build_parser`,
    which calls every subcommand's `add_parser`); building them runs nothing and
    imports neither keras_ext nor Keras.
    """
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from keras_ext_cli.main import build_parser

    parser = build_parser()
    subcommands = next(a for a in parser._actions if a.choices and a.dest == "command")
    return [("keras-ext", parser)] + [(p.prog, p) for p in subcommands.choices.values()]


def cli_help(parser):
    """`parser.format_help()`, wrapped at CLI_HELP_COLUMNS whatever the terminal."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(CLI_HELP_COLUMNS)
    try:
        return parser.format_help()
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


def cli_page():
    """The Markdown source of `cli.md`: every command's `--help`, as the console script prints it."""
    parsers = cli_parsers()
    lines = [
        "# Command-line reference",
        "",
        "What `keras-ext COMMAND --help` prints, for every command. This page is generated "
        "from the command line's own argparse parsers at each build of the site, so it lists "
        "every option `keras-ext` takes. What the commands do and write, and how "
        "they report bad input: [The command line](command-line.md).",
        "",
    ]
    for command, _ in parsers[1:]:
        lines.append(f"- [`{command}`](#{command.replace(' ', '-')})")
    for command, parser in parsers:
        # The heading's text gives the anchor the list above links to (keras-ext-train, ...).
        lines += ["", f"## {command}", "", "```text", cli_help(parser).rstrip(), "```"]
    return "\n".join(lines) + "\n"


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
        "cli.md": cli_page(),
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
