"""Facts: pure parsers of what a host's commands printed."""
