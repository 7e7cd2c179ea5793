"""argparse `type=` functions shared by the subcommands; each names the bad text in its error."""

import argparse
import math


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def positive_float(text):
    value = float(text)
    # float() accepts "inf" and "nan"; neither is a usable rate.
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def unit_rate(text):
    """A number in [0, 1), such as a dropout rate."""
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text}")
    return value


def positive_int_or(word):
    """A type accepting a positive integer or the literal `word`."""

    def parse(text):
        if text == word:
            return text
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise argparse.ArgumentTypeError(f"must be a positive integer or '{word}', got {text}")
        return value

    return parse


def add_verbose_argument(parser):
    """`--verbose`, as `train` and `tune` both take it: Keras's progress levels, 2 by default."""
    parser.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=2,
        help="Keras progress: 0 silent, 1 progress bar, 2 one line per epoch",
    )
