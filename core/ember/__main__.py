"""``python -m ember ...`` runs the ember command line (see :mod:`ember.cli`)."""

from ember.cli import main

raise SystemExit(main())
