"""Run one of docs/checkpointing.md's own-loop examples as a script, optionally SIGKILLed at a step.

Usage: python -m tests.checkpoint.run_docs_loop MARKER WORKDIR WEIGHTS.npz [KILL_AT]

MARKER picks the ```python block of docs/checkpointing.md that contains it.
The block runs unchanged in WORKDIR; the only addition is a patch of
`Checkpointer.should_save` (which the loop calls after every step) that
SIGKILLs the process after step KILL_AT has trained. The final weights of the
block's `model` are written to WEIGHTS.npz.
"""

import os
import re
import signal
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def docs_block(marker):
    with open(os.path.join(ROOT, "docs", "checkpointing.md")) as f:
        blocks = re.findall(r"^```python\n(.*?)^```", f.read(), flags=re.S | re.M)
    found = [block for block in blocks if marker in block]
    assert len(found) == 1, f"{len(found)} blocks of docs/checkpointing.md contain {marker!r}"
    return found[0]


def main(marker, workdir, weights, kill_at=None):
    import keras
    import numpy as np

    from keras_ext.checkpoint import Checkpointer

    if kill_at is not None:
        should_save = Checkpointer.should_save

        def should_save_or_die(self, step):
            if step == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return should_save(self, step)

        Checkpointer.should_save = should_save_or_die
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)
    scope = {}
    exec(compile(docs_block(marker), "docs/checkpointing.md", "exec"), scope)
    np.savez(weights, *[keras.ops.convert_to_numpy(v) for v in scope["model"].variables])


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(*arguments[:3], *(int(a) for a in arguments[3:]))
