"""Batch jobs: a queue in the store, placed on the hosts with the most room, followed until they end.

    submit    options and templates → job specs (pure, checked like the inventory's jobs:); queueing them
    model     a job and its attempts as kept in the store, and their transitions (pure)
    book      the queue in the store: numbering, saving, output kept, the jobs lock
    rooms     what the placement policy is given: each host's room, the queued jobs (pure)
    dispatch  one pass: follow running jobs, start queued ones where there is room, cancel
"""
