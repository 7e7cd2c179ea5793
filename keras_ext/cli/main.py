"""Entry point of the `keras-ext` console script."""

import argparse
import os
import sys

from keras_ext.cli import train


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-ext",
        description="keras_ext command line: train models on the built-in dataset.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    train.add_parser(sub)
    return parser


def main(argv=None):
    # Quiet TensorFlow's C++ start-up chatter before anything imports it.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
