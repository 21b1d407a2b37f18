"""The refusals every layer may raise and the HTTP layer answers: each names what is wrong.

:class:`InputRejected` (400), :class:`Conflict` (409), :class:`SiteMissing` (409) and
:class:`OptimizationFailed` (422) are raised by the application and the adapters; ``api/errors``
maps them to JSON answers. They carry no HTTP themselves, so the layers below the API can raise them.
"""

from __future__ import annotations


class InputRejected(Exception):
    """Input that is well-formed JSON but not acceptable (e.g. an invalid site); answered with 400."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Conflict(Exception):
    """The request conflicts with what exists (e.g. a device id already registered); answered 409."""


class SiteMissing(Exception):
    """An operation needs a site configuration and none is stored yet; answered with 409."""


class OptimizationFailed(Exception):
    """A planning run failed; the last good plan stays in force. Answered with 422."""
