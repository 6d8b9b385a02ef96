"""``python -m js7es.nodes.cli``."""

import sys

from js7es.nodes.cli import main

sys.exit(main())
