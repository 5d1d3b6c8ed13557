"""``python -m symcomp``: the ``symcomp`` command."""

from symcomp.cli import main

raise SystemExit(main())
