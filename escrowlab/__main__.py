import sys

from escrowlab.cli import main

sys.exit(main())
