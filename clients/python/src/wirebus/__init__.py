"""wirebus: asyncio client for the wirebus broker (standard library only).

    import wirebus
    client = await wirebus.connect(["tcp://127.0.0.1:7440"], name="svc")
    ack = await client.publish("chat.session-42", b"hello")
"""
from .client import (AuthInfo, StreamInfo, StreamPage, Client, ConsumerInfo, FetchResult, IdempotentProducer, PublishAck, StreamConsumers,
                     connect)
from .batching import BatchingPublisher
from .connection import ReconnectPolicy, default_address, parse_address
from .errors import (AuthError, AuthExpiredError, AuthFailedError, PermissionDeniedError, UnavailableError,
                     BackpressureError, ClientClosedError, ClientError, ClientTimeoutError, ConnectionLostError,
                     NoRespondersError, NotFoundError, ProducerSequenceError, ProtocolViolationError,
                     QueueFullError, RequestTimeoutError, ResponderError, SequenceMismatchError,
                     SequenceNotRetainedError, ServerError, ShuttingDownError, StoreChangedError, WirebusError)
from .sync import BlockingBatchingPublisher, BlockingClient, BlockingSubscription
from .responders import Request, Responder
from .subscriptions import Message, Subscription

__all__ = [n for n in dir() if not n.startswith("_")]
__version__ = "0.1.0"
