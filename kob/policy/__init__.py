"""Pure decisions from numbers: the autoscaling policy."""
