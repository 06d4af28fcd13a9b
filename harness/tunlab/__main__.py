"""`python3 -m tunlab` is the `tunlab` command line."""

import sys

from tunlab.cli import main

sys.exit(main())
