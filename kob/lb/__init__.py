"""The load balancer: HAProxy on the lb hosts, its config file and its runtime API (does I/O over SSH)."""

from kob.errors import LbConfigInvalid, LbError, LbNotApplied, LbRuntimeRefused
from kob.lb.driver import HaproxyDriver
from kob.lb.model import LbBackend, LbConfig, LbFrontend, LbRoute, LbServer, LbTls

__all__ = ["HaproxyDriver", "LbBackend", "LbConfig", "LbConfigInvalid", "LbError", "LbFrontend", "LbNotApplied", "LbTls",
           "LbRoute", "LbRuntimeRefused", "LbServer"]
