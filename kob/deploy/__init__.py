"""Converging services: observe the hosts, plan, roll out, and record revisions (apply layer)."""
