import sys

from ganparts.cli import main

sys.exit(main())
