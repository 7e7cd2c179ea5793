"""`python -m keras_ext_cli`: the `keras-ext` console script."""

import sys

from keras_ext_cli.main import main

sys.exit(main())
