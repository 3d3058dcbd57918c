"""``python -m trviz``: the same command line as ``trviz``."""

import sys

from trviz.commands import main

sys.exit(main())
