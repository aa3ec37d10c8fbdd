"""``python -m microgradnn``: the command line."""

from .cli import main

raise SystemExit(main())
