"""Default templates that ship with kob (read with importlib.resources)."""
