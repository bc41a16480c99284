"""``python -m kstarlab.cli``: the ``kstarlab`` command line."""

import sys

from kstarlab.cli.app import main

sys.exit(main())
