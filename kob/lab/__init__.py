"""The local lab: stand-in VMs for trying kob and for its tests (never imported by kob's core)."""
