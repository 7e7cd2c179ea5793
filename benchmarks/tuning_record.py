"""The JSON record the tuning benchmarks write: the results with the machine, versions, date and load.

Shared by tuning_pruning.py and tuning_memory.py (run as scripts from this
folder, so they import it by its bare name).
"""

import json
import os
import time


def write(path, arguments, load_before, load_after, **results):
    """Write `results` to `path` with keras-ext bench's environment record plus keras-tuner's version."""
    import keras_tuner

    from keras_ext.benchmarking import environment

    record = {
        "environment": {**environment(), "keras_tuner": keras_tuner.__version__},
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "arguments": arguments,
        **results,
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(record, f, indent=2)
        f.write("\n")
