"""Entry point of the packaged `aleph-ext` executable (PyInstaller runs this file as __main__)."""

import sys

from aleph_gui.cli import main

sys.exit(main())
