"""``python -m mediasearch`` runs the command line."""

import sys

from mediasearch.cli import main

sys.exit(main())
