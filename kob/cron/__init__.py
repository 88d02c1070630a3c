"""Periodic passes from the system cron: the cron.d entry kob installs."""
