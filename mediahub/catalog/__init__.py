"""Audio: the only place that knows tag formats (mutagen lives in tags.py)."""
