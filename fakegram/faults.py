"""Fault injection, flood control and call statistics."""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from fakegram.params import ApiError

DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected fault",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot "
    "instance is running",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# Methods that Telegram's flood control applies to; reads such as getUpdates are not limited.
DEFAULT_FLOOD_METHODS = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageCaption",
    }
)


def make_error(
    error_code: int, description: str | None = None, retry_after: int | None = None
) -> ApiError:
    if error_code == 429 and retry_after is None:
        retry_after = 1
    text = description or DEFAULT_DESCRIPTIONS.get(error_code, f"Error {error_code}")
    return ApiError(error_code, text.format(retry_after=retry_after), retry_after=retry_after)


@dataclass
class FaultRule:
    method: str
    remaining: int
    error_code: int
    description: str | None = None
    chat_id: int | None = None
    retry_after: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "remaining": self.remaining,
            "error_code": self.error_code,
            "description": self.description,
            "chat_id": self.chat_id,
            "retry_after": self.retry_after,
        }


class FaultInjector:
    """ "The next N calls of method M (optionally to chat C) fail with X"."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        self.rules.append(rule)

    def clear(self) -> None:
        self.rules.clear()

    def take(self, method: str, chat_id: int | None) -> ApiError | None:
        for rule in self.rules:
            if rule.method.lower() != method.lower():
                continue
            if rule.chat_id is not None and rule.chat_id != chat_id:
                continue
            rule.remaining -= 1
            if rule.remaining <= 0:
                self.rules.remove(rule)
            return make_error(rule.error_code, rule.description, rule.retry_after)
        return None


class _Bucket:
    """Token bucket: ``burst`` calls at once, refilled at ``rate`` per second.

    This matches aiolimiter (used by PTB's AIORateLimiter), so a bot limiting itself to the same
    rate sees no 429s while one that bursts past it does.
    """

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def wait(self, now: float) -> float:
        """Seconds until a call is allowed (0 if it is allowed now)."""
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = max(self.stamp, now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self.tokens -= 1


class _Window:
    """Strict sliding window: at most ``limit`` calls in any ``period`` seconds."""

    def __init__(self, limit: int, period: float = 1.0) -> None:
        self.limit = limit
        self.period = period
        self.stamps: deque[float] = deque()

    def wait(self, now: float) -> float:
        while self.stamps and now - self.stamps[0] >= self.period:
            self.stamps.popleft()
        if len(self.stamps) < self.limit:
            return 0.0
        return self.period - (now - self.stamps[0])

    def take(self, now: float) -> None:
        self.stamps.append(now)


FloodMode = Literal["bucket", "window"]


@dataclass
class FloodConfig:
    per_second: float | None = None
    per_chat_per_second: float | None = None
    burst: float | None = None
    retry_after: int | None = None
    mode: FloodMode = "bucket"
    methods: frozenset[str] = DEFAULT_FLOOD_METHODS

    def to_json(self) -> dict[str, Any]:
        return {
            "per_second": self.per_second,
            "per_chat_per_second": self.per_chat_per_second,
            "burst": self.burst,
            "retry_after": self.retry_after,
            "mode": self.mode,
            "methods": sorted(self.methods),
        }


class FloodLimiter:
    def __init__(self) -> None:
        self.config = FloodConfig()
        self._overall: _Bucket | _Window | None = None
        self._per_chat: dict[int, _Bucket | _Window] = {}
        self._methods = {m.lower() for m in self.config.methods}
        self.rejected = 0

    def configure(self, config: FloodConfig) -> None:
        self.config = config
        self._methods = {m.lower() for m in config.methods}
        self._per_chat.clear()
        self._overall = self._limiter(config.per_second, config.burst)

    def _limiter(self, rate: float | None, burst: float | None) -> _Bucket | _Window | None:
        if not rate:
            return None
        if self.config.mode == "window":
            return _Window(max(1, math.floor(rate)))
        return _Bucket(rate, burst if burst is not None else max(1.0, rate))

    def check(self, method: str, chat_id: int | None) -> ApiError | None:
        if method.lower() not in self._methods:
            return None
        if self._overall is None and not self.config.per_chat_per_second:
            return None
        now = time.monotonic()
        limiters: list[_Bucket | _Window] = []
        if self._overall is not None:
            limiters.append(self._overall)
        if chat_id is not None and self.config.per_chat_per_second:
            limiter = self._per_chat.get(chat_id)
            if limiter is None:
                # Telegram's per-chat limit does not allow bursts: one message, then wait.
                limiter = self._limiter(self.config.per_chat_per_second, 1.0)
                assert limiter is not None
                self._per_chat[chat_id] = limiter
            limiters.append(limiter)
        wait = max((limiter.wait(now) for limiter in limiters), default=0.0)
        if wait <= 0:
            # A rejected call consumes nothing, so only take once every limiter agrees.
            for limiter in limiters:
                limiter.take(now)
            return None
        self.rejected += 1
        retry_after = self.config.retry_after or max(1, math.ceil(wait))
        return make_error(429, None, retry_after)


@dataclass
class Stats:
    """Counters a benchmark can read: calls per method, answers per status, 429s from flood."""

    calls: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[tuple[str, int]] = field(default_factory=Counter)
    flood_429: int = 0
    injected: int = 0

    def record(self, method: str, status: int) -> None:
        self.calls[method] += 1
        self.statuses[status] += 1
        if status != 200:
            self.errors[(method, status)] += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "statuses": {str(code): n for code, n in self.statuses.items()},
            "errors": [
                {"method": m, "error_code": c, "count": n}
                for (m, c), n in sorted(self.errors.items())
            ],
            "flood_429": self.flood_429,
            "injected": self.injected,
        }

    def reset(self) -> None:
        self.calls.clear()
        self.statuses.clear()
        self.errors.clear()
        self.flood_429 = 0
        self.injected = 0


def flood_config(methods: Iterable[str] | None = None, **kwargs: Any) -> FloodConfig:
    config = FloodConfig(**kwargs)
    if methods is not None:
        config.methods = frozenset(methods)
    return config
