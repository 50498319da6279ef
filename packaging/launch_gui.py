"""Entry script for frozen bundles (PyInstaller): runs the desktop app."""

import sys

from ui.app import main

if __name__ == "__main__":
    sys.exit(main())
