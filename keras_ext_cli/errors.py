"""`UsageError` and `JobFailure`: how a `keras-ext` command ends, reported by `main` as one line.

Here, beside `main`, so that the parsers and the commands
(`keras_ext.cli.<command>`, which import them through `keras_ext.cli.errors`)
raise the same classes.
"""


class UsageError(Exception):
    """Bad arguments or input data: `keras_ext_cli.main` prints `PROG: error: MESSAGE` and exits with 2.

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
