"""`python -m tgsweep.cli` (the scheduled service runs each job this way)."""
import sys

from tgsweep.cli import main

sys.exit(main())
