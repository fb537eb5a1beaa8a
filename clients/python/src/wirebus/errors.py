"""Typed errors. Every error carries ``code`` (the wire code, or -1 for failures that are not a
wire error), ``name`` (the code's name, or CLIENT_TIMEOUT / CONNECTION / CLIENT) and ``fields``
(the version 2 error fields by name, e.g. ``{"lastSequence": 40}``; empty when the broker did not
send them). The common fields also exist as attributes (``SequenceMismatchError.last_sequence``).
"""
from __future__ import annotations

import re

from . import codec


class WirebusError(Exception):
    """Root of every wirebus error."""
    code = -1
    name = "CLIENT"

    def __init__(self, message: str, *, code: int | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
            self.name = codec.code_name(code) if code >= 0 else self.name
        self.fields = dict(fields or {})

    def to_json(self) -> dict:
        return {"code": self.code, "name": self.name, "message": self.message, "fields": dict(self.fields)}


class ClientError(WirebusError):
    """A failure inside the client: bad argument, closed client, local queue full."""
    code = -1
    name = "CLIENT"


class ClientClosedError(ClientError):
    """The client (or publisher) is closed."""


class QueueFullError(ClientError):
    """A local bounded queue or in-flight window was full past its deadline (or in reject mode)."""


class ClientTimeoutError(WirebusError, TimeoutError):
    """A local deadline passed before the answer came."""
    code = -1
    name = "CLIENT_TIMEOUT"


class ConnectionLostError(WirebusError, ConnectionError):
    """Not connected, cannot connect, or the connection was lost before the answer came (outcome unknown)."""
    code = -1
    name = "CONNECTION"


class ServerError(WirebusError):
    """The broker (or a responder) answered with an ERROR frame."""

    def __init__(self, code: int, message: str, fields: dict | None = None):
        super().__init__(message, code=code, fields=fields)


class ProtocolViolationError(ServerError):
    """A protocol-level failure: malformed frame, unsupported version, handshake problem."""


class SequenceMismatchError(ServerError):
    """SEQUENCE_MISMATCH: ``last_sequence`` is the stream's last sequence (-1 if unknown)."""

    @property
    def last_sequence(self) -> int:
        return self.fields.get("lastSequence", -1)


class SequenceNotRetainedError(ServerError):
    """SEQUENCE_NOT_RETAINED: ``first_retained_sequence`` (-1 if unknown)."""

    @property
    def first_retained_sequence(self) -> int:
        return self.fields.get("firstRetainedSequence", -1)


class BackpressureError(ServerError):
    """BACKPRESSURE from the broker: ``retry_after_millis`` (-1 if unknown)."""

    @property
    def retry_after_millis(self) -> int:
        return self.fields.get("retryAfterMillis", -1)


class ProducerSequenceError(ServerError):
    """PRODUCER_SEQUENCE: ``last_producer_sequence`` (-1 if unknown)."""

    @property
    def last_producer_sequence(self) -> int:
        return self.fields.get("lastProducerSequence", -1)


class RequestTimeoutError(ServerError, TimeoutError):
    """TIMEOUT from the broker: a request's (or a held publish's) deadline passed."""


class NoRespondersError(ServerError):
    """NO_RESPONDERS: nobody responds on the subject."""


class ResponderError(ServerError):
    """RESPONDER_GONE or RESPONDER_FAILED."""


class StoreChangedError(ServerError):
    """STORE_CHANGED, or the broker came back with another store: subscriptions cannot resume."""

    def __init__(self, message: str, fields: dict | None = None):
        super().__init__(38, message, fields)


class NotFoundError(ServerError):
    """NOT_FOUND: the stream or consumer does not exist."""


class ShuttingDownError(ServerError):
    """SHUTTING_DOWN."""


class PermissionDeniedError(ServerError):
    """PERMISSION_DENIED: the connection's principal may not do this operation on this stream,
    subject or consumer (the message names them). The connection stays open."""


class AuthError(ServerError):
    """AUTH_FAILED or AUTH_EXPIRED: the broker refused or stopped accepting the credential and
    closed the connection."""


class AuthFailedError(AuthError):
    """AUTH_FAILED (40): the credential was refused (unknown token, bad signature, expired, not yet
    valid, wrong audience, unknown mechanism). Raised by connect(); on a reconnect it ends the
    client (retrying the same credential cannot succeed)."""


class AuthExpiredError(AuthError):
    """AUTH_EXPIRED (41): the connection's credential expired with no fresh AUTH; the broker closed
    the connection (reported to on_error; the client reconnects and authenticates again with the
    current credential, calling a credential provider anew)."""


class UnavailableError(ServerError):
    """UNAVAILABLE (42): the store behind the stream cannot be reached; nothing was done."""


_BY_CODE = {
    1: ProtocolViolationError, 2: ProtocolViolationError, 3: ProtocolViolationError,
    4: ProtocolViolationError, 5: ProtocolViolationError,
    10: SequenceMismatchError, 11: SequenceNotRetainedError, 15: ProducerSequenceError,
    20: NoRespondersError, 21: RequestTimeoutError, 22: ResponderError, 23: ResponderError,
    30: ShuttingDownError, 32: BackpressureError, 33: PermissionDeniedError, 39: NotFoundError,
    40: AuthFailedError, 41: AuthExpiredError, 42: UnavailableError,
}

# version 1 carries the numbers only in the text: parse them as a fallback (wording not guaranteed)
_V1_PATTERNS = {
    10: ("lastSequence", re.compile(r"last sequence (\d+)")),
    11: ("firstRetainedSequence", re.compile(r"(?:retains sequences from|first retained sequence(?: is)?) (\d+)")),
}


def from_wire(code: int, message: str, fields: dict | None = None) -> ServerError:
    """The typed error for an ERROR (or SUBSCRIPTION_CLOSED) frame's code, message and v2 fields."""
    fields = dict(fields or {})
    p = _V1_PATTERNS.get(code)
    if p is not None and p[0] not in fields:
        m = p[1].search(message)
        if m:
            fields[p[0]] = int(m.group(1))
    if code == 38:
        return StoreChangedError(message, fields)
    cls = _BY_CODE.get(code, ServerError)
    if code not in codec.ERROR_CODES:  # unknown codes map to UNKNOWN (0); the number stays in the text
        message = "error code %d: %s" % (code, message)
        code = 0
    return cls(code, message, fields)


def from_frame(frame: "codec.Frame") -> ServerError:
    return from_wire(frame["code"], frame["message"], frame.get("errorFields"))
