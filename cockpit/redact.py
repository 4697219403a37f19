"""One redaction layer for everything the cockpit writes: audit records, plan reports
(events.jsonl, junit.xml, summary.md), logs, ansible runs, one-shot snapshots.

Two kinds of secret are removed:
- by key: any mapping key that looks secret (`password`, `HF_TOKEN`, `vault_pw`, `api_key`...)
  has its value replaced, and that value is registered as secret for this process;
- by value: registered values, JWTs (`eyJ...`), URL passwords (`user:pw@host`), and
  `NAME=value` / `NAME: value` text where NAME looks secret (`export HF_TOKEN=...`).

`scrub` applies the value rules to text; `redact` walks data (keys and string values).
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any, Mapping

REDACTED = "***"
SECRET_WORDS = ("password", "passwd", "passphrase", "secret", "token", "jwt", "private_key", "privatekey",
                "apikey", "api_key", "access_key", "credential", "vault_pw", "_pw")
MIN_SECRET_LEN = 4  # shorter values would scrub innocent text ("1", "yes")

_registered: set[str] = set()
_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()

_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_URL_PASSWORD = re.compile(r"(?P<pre>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*):(?P<pw>[^@\s/]+)@")
_SUFFIXES = ("password", "passwd", "passphrase", "secret", "token", "jwt", "private_key", "privatekey", "apikey",
             "api_key", "access_key", "credential", "credentials", "_pw")
# NAME=value, NAME: value, "NAME": "value" where NAME *ends* like a secret (HF_TOKEN, vault_pw;
# not tokens_per_sec): the value (quoted, or bare up to whitespace/quote/comma) is replaced.
_ASSIGNMENT = re.compile(
    r"(?P<key>[\"']?\b[A-Za-z0-9_.-]*(?:" + "|".join(re.escape(w) for w in _SUFFIXES) + r")[\"']?\s*(?:=|:)\s*)"
    r"(?P<q>[\"']?)(?P<value>(?!\*\*\*)[^\s\"',}&<>]+)",
    re.IGNORECASE)


def is_secret_key(key: str) -> bool:
    k = key.lower()
    return any(word in k for word in SECRET_WORDS)


def register_secret(value: Any) -> None:
    """Remember a value as secret: from now on `scrub` removes it from any text."""
    global _pattern
    if value is None:
        return
    text = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    if not isinstance(text, str) or len(text) < MIN_SECRET_LEN or text == REDACTED:
        return
    with _lock:
        if text in _registered:
            return
        _registered.add(text)
        ordered = sorted(_registered, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(v) for v in ordered))


def scrub(text: str, *, assignments: bool = True) -> str:
    """Text with every secret-looking value replaced by ***. `assignments=False` keeps
    `NAME=value` text (structured output such as JSON, where keys are handled by `redact`)."""
    if not text:
        return text
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    text = _JWT.sub(REDACTED, text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('pre')}:{REDACTED}@", text)
    if not assignments:
        return text
    return _ASSIGNMENT.sub(lambda m: f"{m.group('key')}{m.group('q')}{REDACTED}", text)


def scrub_values(value: Any) -> Any:
    """Data with registered secrets, JWTs and URL passwords removed from every string; keys are
    left alone (snapshots: a metric named tokens_per_sec is not a secret)."""
    if isinstance(value, Mapping):
        return {k: scrub_values(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_values(v) for v in value]
    if isinstance(value, str):
        return scrub(value, assignments=False)
    return value


def redact(value: Any) -> Any:
    """Data with secret-looking keys' values replaced (and registered) and every string scrubbed."""
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if is_secret_key(str(k)) and v not in (None, ""):
                _register_tree(v)
                out[k] = REDACTED
            else:
                out[k] = redact(v)
        return out
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return scrub(value)
    return value


def _register_tree(value: Any) -> None:
    if isinstance(value, Mapping):
        for v in value.values():
            _register_tree(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _register_tree(v)
    else:
        register_secret(value)


def register_secrets_in(value: Any) -> None:
    """Register the values of secret-looking keys found anywhere in `value` (parameters before
    they are used: their values then never leave the process in clear, whatever text holds them)."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            if is_secret_key(str(k)):
                _register_tree(v)
            else:
                register_secrets_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            register_secrets_in(v)
    elif hasattr(value, "get_secret_value"):
        register_secret(value)


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs each record's message (and its exception text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is logging's problem, not ours
            return True
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        record.msg, record.args = scrub(message), ()
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Scrub everything the handlers of `logger` (default: root) write."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
