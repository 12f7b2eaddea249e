"""``python -m chatgpt_sync``: the same as the ``chatgpt-sync`` command."""

import sys

from .cli import main

sys.exit(main())
