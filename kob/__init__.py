"""kob, "Kubernetes on a budget": an agentless container orchestrator over SSH."""

__version__ = "0.1.0"
