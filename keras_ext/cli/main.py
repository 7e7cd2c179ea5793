"""The `keras-ext` entry point, kept here for `python -m keras_ext.cli.main` and existing imports.

The console script is `keras_ext_cli.main:main`: the parsers and `main` live
in the stdlib-only package `keras_ext_cli`, so that `--help` and an argument
error import neither keras_ext nor Keras. Each command is
`keras_ext.cli.<name>.run(args)`, imported once the arguments parse.
"""

import sys

from keras_ext_cli.main import SUBCOMMANDS
from keras_ext_cli.main import USAGE_ERROR_STATUS
from keras_ext_cli.main import build_parser
from keras_ext_cli.main import main

__all__ = ["SUBCOMMANDS", "USAGE_ERROR_STATUS", "build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
