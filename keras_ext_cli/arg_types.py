"""argparse `type=` functions shared by the subcommands; each names the bad text in its error."""

import argparse
import math
import sys


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


def is_module_name(text):
    """Whether `text` has the form MODULE:NAME (both parts non-empty), as --model and --hypermodel take.

    Only the form: importing the module would import Keras, so the commands look it up later.
    """
    module, colon, name = text.partition(":")
    return bool(colon and module and name)


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


def verbosity(text):
    """Keras's progress level: 0, 1, 2, or 'auto', resolved here (when the arguments parse) to 1
    (a progress bar) where stdout is a terminal and 2 (one line per epoch) where it is not.

    Keras's own "auto" is always 1, and its progress bar redraws itself with
    backspaces and carriage returns even into a pipe or a log file.
    """
    if text == "auto":
        return 1 if _is_terminal(sys.stdout) else 2
    if text in ("0", "1", "2"):
        return int(text)
    raise argparse.ArgumentTypeError(f"must be auto, 0, 1 or 2, got {text}")


def _is_terminal(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def add_verbose_argument(parser):
    """`--verbose`, as `train` and `tune` both take it: Keras's progress levels, 'auto' by default."""
    parser.add_argument(
        "--verbose",
        type=verbosity,
        default="auto",
        metavar="{auto,0,1,2}",
        help="Keras progress: 0 silent, 1 progress bar, 2 one line per epoch, auto: 1 where "
        "stdout is a terminal, else 2",
    )
