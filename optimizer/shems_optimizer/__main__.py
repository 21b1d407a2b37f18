"""``python -m shems_optimizer`` runs the command line."""

import sys

from shems_optimizer.cli import main

sys.exit(main())
