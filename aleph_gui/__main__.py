import sys

from aleph_gui.cli import main

sys.exit(main())
