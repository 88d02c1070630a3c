"""Batch jobs: a queue in the store, placed on the hosts with the most room, followed until they end."""
