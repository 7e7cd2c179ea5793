"""The `keras-ext` commands: `train`, `tune` and `bench`, each a module with `run(args)`.

Their parsers, and the console script's `main`, are in `keras_ext_cli`,
which imports no Keras (`keras_ext.cli.main` re-exports them).
"""
