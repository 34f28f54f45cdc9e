"""The always-on process: serves the built site and its media."""
