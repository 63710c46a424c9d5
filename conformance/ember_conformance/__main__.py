"""``python -m ember_conformance`` is the ``ember-conformance`` command."""

import sys

from ember_conformance.cli import main

sys.exit(main())
