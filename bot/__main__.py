"""`python -m bot`: wire the command line; all behaviour lives in the service and the core."""

import sys

from bot.cli.app import main

if __name__ == "__main__":
    sys.exit(main())
