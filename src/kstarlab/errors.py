"""The error type kstarlab raises for bad input.

`InputError` subclasses `ValueError`, so library callers can catch either; the CLI turns it
into one line on stderr and exit status 2.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad data, config, argument or file, described in one line that names the culprit."""
