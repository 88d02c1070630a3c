"""Plans: pure diffs of what the inventory wants against what the hosts run."""
