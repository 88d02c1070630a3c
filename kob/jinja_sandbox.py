"""The one Jinja environment kob evaluates templates in: Jinja's immutable sandbox, with bounds.

Playbook values, conditions and loops, template files, and the HAProxy template are all
rendered here. The sandbox refuses Python internals (``__globals__``, ``__class__``,
``mro``, ``__subclasses__``, anything starting with ``_``) and methods that change data;
on top of it, sizes are bounded so that a template cannot take the manager's memory:
``range`` (Jinja's own cap), string and list repetition, ``**``, the width arguments of
``%``-formatting, ``format``, ``center``, ``indent`` and str's padding methods, what
``replace`` may grow to and ``lipsum``'s length; and ``evaluated`` stops a render after
MAX_CPU_SECONDS of CPU (loops inside loops).

Every failure while rendering (a refused attribute, a bound, a TypeError in the user's
expression) is a ``jinja2.TemplateError`` or is turned into one by ``evaluated``.
"""

from __future__ import annotations

import contextlib
import math
import re
import signal
import threading
from typing import Any, Callable, Iterator, TypeVar

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

T = TypeVar("T")

MAX_SIZE = 1 << 20  # characters or items one operation may produce
MAX_CPU_SECONDS = 2.0  # of CPU time for one evaluation: real templates take milliseconds
MAX_POWER_BITS = 1 << 16  # bits of an integer a ** may produce
_WIDTH = re.compile(r"%[-#0 +]*(\d+)|\{[^{}]*?:[^{}]*?(\d+)[^{}]*\}")
_NESTED_WIDTH = re.compile(r"\{[^{}]*:[^{}]*\{")
_PADDING_METHODS = {"center", "ljust", "rjust", "zfill", "expandtabs"}


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with bounded repetition, powers, padding and replacement."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any):
        options.setdefault("undefined", jinja2.StrictUndefined)
        options.setdefault("keep_trailing_newline", True)
        super().__init__(**options)
        for name in ("center", "indent", "format", "replace"):
            self.filters[name] = _bounded_filter(self.filters[name])
        self.globals["lipsum"] = _bounded_lipsum(self.globals["lipsum"])

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        """Refuse an unsafe attribute at once (Jinja returns an undefined that fails only when used)."""
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            _check_repetition(left, right)
            _check_repetition(right, left)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "%" and isinstance(left, str):
            _check_widths(left)
            if "*" in left:  # '%*d': a width given as an argument
                _check_numbers(right if isinstance(right, tuple) else (right,), {})
        return super().call_binop(context, operator, left, right)

    def call(self, __context, __obj, *args: Any, **kwargs: Any) -> Any:
        name, owner = getattr(__obj, "__name__", None), getattr(__obj, "__self__", None)
        if name in _PADDING_METHODS and isinstance(owner, str):
            _check_numbers(args, kwargs)
        elif name == "replace" and isinstance(owner, str):
            _check_replacement(owner, *args[:2])
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        _check_widths(value.__self__)
        if not _NESTED_WIDTH.search(value.__self__):
            return wrapped

        def checked(*args: Any, **kwargs: Any) -> str:  # '{0:{1}}': a width given as an argument
            _check_numbers(args, kwargs)
            _check_numbers(tuple(args[0].values()) if args and isinstance(args[0], dict) else (), {})
            return wrapped(*args, **kwargs)

        return checked


def evaluated(work: Callable[[], T]) -> T:
    """``work()``, with any error of the user's template turned into a jinja2.TemplateError, and stopped
    once it has used MAX_CPU_SECONDS of CPU (loops inside loops; only in the main thread, where signals go)."""
    try:
        with _cpu_budget(MAX_CPU_SECONDS):
            return work()
    except jinja2.TemplateError:
        raise
    except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError, RecursionError) as error:
        raise jinja2.TemplateError(f"{type(error).__name__}: {error}") from None


@contextlib.contextmanager
def _cpu_budget(seconds: float) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread() or signal.getitimer(signal.ITIMER_PROF)[0]:
        yield  # not where a signal can reach, or a budget already runs (a template inside a template)
        return

    def over(signum, frame):
        raise SecurityError(f"rendering took more than {seconds:g} s of CPU; a loop over a huge range, "
                            "or a regular expression that backtracks?")

    previous = signal.signal(signal.SIGPROF, over)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _bounded_lipsum(original: Callable[..., str]) -> Callable[..., str]:
    def lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
        _check_numbers((n * max,) if isinstance(n, int) and isinstance(max, int) else (), {})
        return original(n, html, min, max)

    return lipsum


def _check_replacement(text: Any, old: Any, new: Any) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        grown = text.count(old) * (len(new) - len(old)) if old else (len(text) + 1) * len(new)
        if len(text) + grown > MAX_SIZE:
            raise SecurityError(f"the replacement makes more than {MAX_SIZE} characters")


def _bounded_filter(original: Callable[..., Any]) -> Callable[..., Any]:
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if original.__name__ == "do_format" and args and isinstance(args[0], str):
            _check_widths(args[0])
        elif original.__name__ == "do_replace":
            _check_replacement(*(str(a) if hasattr(a, "__html__") else a for a in args[1:4]))
        else:
            _check_numbers(args[1:], kwargs)
        return original(*args, **kwargs)

    for attribute in ("jinja_pass_arg",):  # Jinja marks filters that take the environment or context
        if hasattr(original, attribute):
            setattr(bounded, attribute, getattr(original, attribute))
    bounded.__name__ = original.__name__
    return bounded


def _check_repetition(sequence: Any, times: Any) -> None:
    if isinstance(sequence, (str, list, tuple)) and isinstance(times, int) and len(sequence) * times > MAX_SIZE:
        raise SecurityError(f"repeating {len(sequence)} items {times} times makes more than {MAX_SIZE}")


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0:
        if exponent * math.log2(abs(base)) > MAX_POWER_BITS:
            raise SecurityError(f"{base} ** {exponent} is larger than {MAX_POWER_BITS} bits")


def _check_numbers(args: tuple, kwargs: dict) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_SIZE:
            raise SecurityError(f"a width of {value} is larger than {MAX_SIZE}")


def _check_widths(text: str) -> None:
    for match in _WIDTH.finditer(text):
        width = int(match[1] or match[2])
        if width > MAX_SIZE:
            raise SecurityError(f"a width of {width} is larger than {MAX_SIZE}")
