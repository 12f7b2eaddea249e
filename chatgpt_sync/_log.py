"""The package logger: ``chatgpt_sync``, silent by default, redacting secrets.

``CHATGPT_SYNC_LOG=debug`` (or ``info``) in the environment turns on a stderr handler. Every record
passes through a filter that redacts keys, tokens, cookies and Authorization values, whichever
handler the application attaches.
"""

from __future__ import annotations

import logging
import os

from ._redact import redact_text

__all__ = ["logger"]

logger = logging.getLogger("chatgpt_sync")


class RedactingFilter(logging.Filter):
    """Formats the record's message once and redacts it, so handlers never see a raw secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not break logging
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        return True


def _configure() -> None:
    logger.addFilter(RedactingFilter())
    logger.addHandler(logging.NullHandler())
    level = os.environ.get("CHATGPT_SYNC_LOG", "").strip().upper()
    if level in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(level)


_configure()
