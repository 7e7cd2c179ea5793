"""`UsageError`: bad input to a `keras-ext` command, reported by `main` as one line with exit status 2."""

import contextlib


class UsageError(Exception):
    """Bad arguments or input data: `keras_ext.cli.main` prints `PROG: error: MESSAGE` and exits with 2.

    Raised before the command writes anything, so a user who fixes the
    input can rerun the same line. `prog` names the command (`keras-ext
    train`); when it is None, `main` fills in the subcommand it ran.
    """

    def __init__(self, message, prog=None):
        # One line, whatever the message: the user reads it, a script greps it.
        super().__init__(" ".join(str(message).split()))
        self.prog = prog


class JobFailure(Exception):
    """A process of a multi-process job is gone: `main` prints one line and exits with 75 at once.

    75 is sysexits' EX_TEMPFAIL, "try again": rerunning every process of the
    job resumes from its newest checkpoint. The exit skips the engines' own
    shutdown, which would wait for the lost process.
    """

    STATUS = 75

    def __init__(self, message, prog=None):
        super().__init__(" ".join(str(message).split()))
        self.prog = prog


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
