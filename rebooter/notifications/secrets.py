"""Notification URL secrets: masking a URL wherever it is shown, and scrubbing the configured
URLs' secrets from Apprise's and urllib3's own log records.

The configured URLs carry secrets (webhook tokens, passwords). Everything that shows a URL
(settings, results, logs) shows ``mask_url(url)``; every URL the app loads registers its
secret parts with the log guard first.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import threading
from collections.abc import Iterable, Iterator
from urllib.parse import unquote

_HOSTNAME = re.compile(
    r"^(localhost|\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]|([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63})$"
)
WORD = re.compile(r"^[#@+]?[A-Za-z]?[a-z_.-]{0,31}$")  # a plain word: channel, path verb; no digits
_SAFE_QUERY_KEYS = {
    "format", "overflow", "method", "mode", "image", "footer", "timestamp", "blocks", "wrap", "pa",
    "verify", "rto", "cto", "emojis", "store", "tz", "to", "from", "name", "secure", "smtp", "port",
    "api-version", "sv", "sp", "avatar", "ver", "retry", "wait", "optional",
}  # their values are settings, not credentials
MASK = "****"


def _mask_token(value: str) -> str:
    return value[:2] + MASK if len(value) >= 8 else MASK


def _url_parts(url: str) -> dict[str, str]:
    """A tolerant split of scheme://user:password@host:port/path?query#fragment."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    rest, _, fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    user, colon, password = userinfo.partition(":") if at else ("", "", "")
    host, port = hostport, ""
    head, colon_, tail = hostport.rpartition(":")
    if colon_ and tail.isdigit() and (not head.startswith("[") or head.endswith("]")):
        host, port = head, tail
    return {"scheme": scheme, "sep": sep, "user": user, "colon": colon, "password": password, "at": at,
            "host": host, "port": port, "slash": slash, "path": path, "query": query, "fragment": fragment}


def _mask(url: str) -> tuple[str, set[str]]:
    """The masked URL and the substrings it hid (one walk, so both always agree)."""
    p = _url_parts(url.strip())
    hidden: set[str] = set()

    def hide(value: str, keep: bool, masked: str | None = None) -> str:
        if keep or not value:
            return value
        hidden.add(value)
        return _mask_token(value) if masked is None else masked

    out = p["scheme"] + p["sep"]
    if p["at"]:
        out += hide(p["user"], bool(WORD.match(p["user"])))
        out += (":" + hide(p["password"], False, MASK)) if p["colon"] else ""
        out += "@"
    out += hide(p["host"], bool(_HOSTNAME.match(p["host"])))
    out += (":" + p["port"]) if p["port"] else ""
    if p["slash"]:
        out += "/" + "/".join(hide(seg, bool(WORD.match(unquote(seg)))) for seg in p["path"].split("/"))
    if p["query"]:
        pairs = []
        for pair in p["query"].split("&"):
            key, eq, value = pair.partition("=")
            pairs.append(key + eq + hide(value, key.lower() in _SAFE_QUERY_KEYS, MASK))
        out += "?" + "&".join(pairs)
    if p["fragment"]:
        out += "#" + hide(p["fragment"], bool(WORD.match(unquote(p["fragment"]))))
    if out != url.strip():
        hidden.add(url.strip())
    hidden |= {unquote(s) for s in hidden}
    return out, hidden


def mask_url(url: str) -> str:
    """The URL with its secrets masked: passwords, tokens in host or path, query values.

    Kept: the scheme, a user name that is a plain word, a host that is a DNS name or an IP,
    the port, path segments and fragments that are plain words (no digits), and the values of
    a few harmless query keys (format, method, api-version, ...). The rest shows at most its
    first two characters.
    """
    return _mask(url)[0]


def secret_parts(url: str) -> set[str]:
    """The substrings of a URL that mask_url hides (and their URL-decoded forms), 4+ chars."""
    return {s for s in _mask(url)[1] if len(s) >= 4}


class _LogGuard(logging.Filter):
    """Scrubs known URL secrets from Apprise's and urllib3's records; can silence Apprise.

    Installed once on those loggers. Apprise logs a URL it cannot parse verbatim and, at
    debug level, the URLs it posts to (a Slack webhook's path is its token). The quiet flag and
    the capture list are context variables, so concurrent activities do not see each other's.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        self.quiet: contextvars.ContextVar[bool] = contextvars.ContextVar("rebooter_notify_quiet", default=False)
        self.capture: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
            "rebooter_notify_capture", default=None)

    def add_secrets(self, secrets: Iterable[str]) -> None:
        with self._lock:
            merged = set(self._secrets) | set(secrets)
            self._secrets = tuple(sorted(merged, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.quiet.get() and record.name.startswith("apprise"):
            return False
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is not ours to fix; drop its args
            message = str(record.msg)
        clean = self.redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        captured = self.capture.get()
        if captured is not None and record.levelno >= logging.WARNING and record.name.startswith("apprise"):
            captured.append(clean)
        return True


_guard = _LogGuard()
_GUARDED_LOGGERS = ("apprise", "urllib3.connectionpool")


def protect(url: str) -> None:
    """Register a URL's secrets and make sure the guard sits on the noisy loggers."""
    _guard.add_secrets(secret_parts(url))
    for name in _GUARDED_LOGGERS:
        logger = logging.getLogger(name)
        if _guard not in logger.filters:
            logger.addFilter(_guard)


def redact(text: str) -> str:
    """Text with every registered URL secret replaced by the mask."""
    return _guard.redact(text)


@contextlib.contextmanager
def apprise_quiet() -> Iterator[None]:
    token = _guard.quiet.set(True)
    try:
        yield
    finally:
        _guard.quiet.reset(token)


@contextlib.contextmanager
def apprise_warnings() -> Iterator[list[str]]:
    captured: list[str] = []
    token = _guard.capture.set(captured)
    try:
        yield captured
    finally:
        _guard.capture.reset(token)
