"""Print pip requirements pinning each `>=` minimum that setup.cfg declares to that release series.

`keras>=3.10` becomes `keras==3.10.*`, `tensorflow-cpu>=2.16` becomes
`tensorflow-cpu==2.16.*`, `keras-tuner>=1.4.7` becomes `keras-tuner==1.4.7.*`:
the oldest versions the project says it supports, read from the one place
that says so. Usage: python .ci/lowest_pins.py [EXTRA ...]
"""

import configparser
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def lowest_pins(extras):
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, "setup.cfg"))
    lines = config["options"]["install_requires"].splitlines()
    for extra in extras:
        lines += config["options.extras_require"][extra].splitlines()
    pins = []
    for line in lines:
        match = re.fullmatch(
            r"\s*([A-Za-z0-9_.\-\[\]]+)\s*>=\s*([0-9][0-9.]*)\s*(,\s*<\s*[0-9][0-9.]*\s*)?", line
        )
        if match:
            pins.append(f"{match.group(1)}=={match.group(2)}.*")
    return pins


if __name__ == "__main__":
    print(" ".join(lowest_pins(sys.argv[1:])))
