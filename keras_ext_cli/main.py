"""Entry point of the `keras-ext` console script (`keras_ext_cli.main:main`).

Each subcommand's parser is built by `keras_ext_cli.<name>.add_parser`; the
command itself is `keras_ext.cli.<name>.run(args)`, imported only once the
arguments parse. Bad arguments and bad input of every subcommand end the
same way: one line `keras-ext <command>: error: <what was wrong>` on stderr
and exit status 2, before anything is written (`UsageError`).

Nothing here, nor in the parsers, imports Keras, TensorFlow, JAX or
keras_ext (whose `__init__` imports Keras): `--help` and an argument error
cost no backend start-up and print no backend log line.
"""

import argparse
import importlib
import os
import sys

from keras_ext_cli.errors import JobFailure
from keras_ext_cli.errors import UsageError

SUBCOMMANDS = ("train", "tune", "bench")
USAGE_ERROR_STATUS = 2  # what argparse uses, and what shells expect of a usage error


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """argparse's help with every option's default: `(default: 20)`, `(default: off)` for a flag.

    Help that already says its default (one argparse cannot show, such as
    None meaning "none" or a value read from the environment) is left as
    written.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        if "(default" in text or not action.option_strings or action.default is argparse.SUPPRESS:
            return text
        if action.nargs == 0 and action.default is False:
            return f"{text} (default: off)"
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is a `UsageError` (one line; `main` prints it) instead of usage + exit,
    and the help shows every default (the subcommands' parsers are of this class too)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise UsageError(message, prog=self.prog)


def build_parser():
    """The `keras-ext` parser with every subcommand's (`keras_ext_cli.<name>.add_parser`)."""
    parser = _Parser(
        prog="keras-ext",
        description="keras_ext command line: train, tune and benchmark keras_ext models.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        importlib.import_module(f"keras_ext_cli.{name}").add_parser(sub)
    return parser


def run_command(args):
    """Run the parsed command: `keras_ext.cli.<command>.run(args)` (this imports keras_ext, and Keras).

    A parser module's `check_before_keras(args)`, where it has one, runs first:
    what it refuses is refused without the backend's start-up.
    """
    check = getattr(importlib.import_module(f"keras_ext_cli.{args.command}"), "check_before_keras", None)
    if check is not None:
        check(args)
    return importlib.import_module(f"keras_ext.cli.{args.command}").run(args)


def main(argv=None):
    # Quiet TensorFlow's C++ start-up chatter: nothing has imported it yet.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = None
    try:
        args = parser.parse_args(argv)
        return run_command(args)
    except UsageError as e:
        prog = e.prog or (f"keras-ext {args.command}" if args is not None else parser.prog)
        print(f"{prog}: error: {e}", file=sys.stderr)
        return USAGE_ERROR_STATUS
    except JobFailure as e:
        print(f"keras-ext {args.command}: error: {e}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(JobFailure.STATUS)  # a normal exit would wait in the engine's shutdown for the lost peer


if __name__ == "__main__":
    sys.exit(main())
