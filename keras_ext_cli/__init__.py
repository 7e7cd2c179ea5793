"""The front of the `keras-ext` command line: `main`, every parser and argument type, nothing heavy.

The console script `keras-ext` is `keras_ext_cli.main:main`. This package
imports the standard library (and filelock) only, never Keras nor keras_ext (whose
`__init__` imports Keras, and Keras its backend), so `--help` and an
argument error answer at once and print no backend log line. Once the
arguments parse, `main` imports the command, `keras_ext.cli.<command>`,
and calls its `run(args)`.

Everything a parser shows comes from here: the option names (`_choices`,
copies of the library's lists, checked against them in
tests/cli/test_help.py) and the defaults `keras-ext train` trains with
(`defaults`, which `keras_ext.tuning` imports for the search's defaults).

Three pieces of the library live here because the command line uses them
before Keras starts: the one-writer directory lock (`directory_lock`: a
second `keras-ext train` on a checkpoint directory in use, or a second
`keras-ext tune` on a project being searched, is refused in a second, not
after the backend's start-up), the atomic file writes it records its
holder with (`files`), and a distributed search's roles (`tuner_role`:
a worker shares its chief's project).
"""
