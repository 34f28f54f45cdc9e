"""Allow ``python -m mediahub``."""

from mediahub.cli import main

raise SystemExit(main())
