"""Entry point of the `keras-ext` console script.

Each subcommand lives in its own module `keras_ext/cli/<name>.py` with an
`add_parser(subparsers)` function that sets `run` as the parser's default.
"""

import argparse
import importlib
import importlib.util
import os
import sys

SUBCOMMANDS = ("train", "tune", "bench")


def build_parser():
    parser = argparse.ArgumentParser(
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
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
