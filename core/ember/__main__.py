"""``python -m ember ...`` runs the ember command line (see ``ember.cli``)."""

from ember.cli import main

raise SystemExit(main())
