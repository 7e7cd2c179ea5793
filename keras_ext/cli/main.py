"""Entry point of the `keras-ext` console script.

Each subcommand lives in its own module `keras_ext/cli/<name>.py` with an
`add_parser(subparsers)` function that sets `run` as the parser's default.
Bad arguments and bad input of every subcommand end the same way: one line
`keras-ext <command>: error: <what was wrong>` on stderr and exit status 2,
before anything is written (`keras_ext.cli.errors.UsageError`).

Building the parsers imports nothing of Keras, TensorFlow or JAX (the names
options accept are in `_choices.py`), so `--help` and an argument error
cost no backend start-up; a subcommand imports what it needs in `run`.
"""

import argparse
import importlib
import importlib.util
import os
import sys

from keras_ext.cli.errors import JobFailure
from keras_ext.cli.errors import UsageError

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
    parser = _Parser(
        prog="keras-ext",
        description="keras_ext command line: train, tune and benchmark keras_ext models.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        # A subcommand whose module is not written yet is simply not offered.
        if importlib.util.find_spec(f"keras_ext.cli.{name}") is None:
            continue
        importlib.import_module(f"keras_ext.cli.{name}").add_parser(sub)
    return parser


def main(argv=None):
    # Quiet TensorFlow's C++ start-up chatter where it has not been imported yet.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = None
    try:
        args = parser.parse_args(argv)
        return args.run(args)
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
