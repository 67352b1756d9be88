"""The one exception type a user sees as a single readable line."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or configuration: reported as one line and a non-zero exit, no traceback."""
