"""Entry point of the packaged `aleph-gui` executable (PyInstaller runs this file as __main__)."""

import sys

from aleph_gui.app import main

sys.exit(main())
