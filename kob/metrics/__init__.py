"""Resource samples: cgroup and /proc counters from every host, rates, and their history in the store."""
