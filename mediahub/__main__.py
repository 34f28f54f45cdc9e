"""Allow ``python -m mediahub``."""

from mediahub.cli import run

run()
