"""Passes that keep the cluster as wanted: reconcile (self-healing) and autoscale."""
