"""The passes that keep the cluster as wanted, and who runs them.

reconcile (self-healing) and autoscale, each one pass under the deploy lock;
periodic runs them together as cron does; host_health keeps when each host last
answered; leader elects the one `kob serve` that acts; serve_loop is that loop.
"""
