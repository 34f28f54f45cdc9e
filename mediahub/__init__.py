"""mediahub: a self-hosted podcast and media hub."""

__version__ = "0.1.0"
