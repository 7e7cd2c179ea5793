"""`UsageError` and `JobFailure` (defined in `keras_ext_cli.errors`, beside `main`), and `input_errors`."""

import contextlib

from keras_ext_cli.errors import JobFailure
from keras_ext_cli.errors import UsageError

__all__ = ["JobFailure", "UsageError", "input_errors"]


@contextlib.contextmanager
def input_errors():
    """Turn the ValueErrors and missing files raised inside into `UsageError`s.

    Only for a command's checking phase: there a ValueError means the
    user's input is wrong; later it means a bug, which keeps its traceback.
    """
    try:
        yield
    except (ValueError, FileNotFoundError) as e:
        raise UsageError(e) from e
