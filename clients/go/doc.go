// Package wirebus is the Go client of the wirebus broker (docs/protocol.md, versions 1 and 2),
// standard library only.
//
// A Client holds one connection to a broker, tried at several addresses in turn
// ("unix:///path", "tcp://host:port"), and reconnects by itself with capped exponential backoff
// and jitter. After a reconnect, subscriptions resume at the last received sequence + 1 (no gap,
// no duplicate), durable consumers resume with CONSUME resume=1, responders register again, and
// idempotent publishes (and acknowledgements) still unanswered are resent in their original
// order; any other call lost with the connection fails with a *ConnectionError, since its outcome
// is unknown. If the broker comes back with another store (its storeId changed), subscriptions end
// with a *StoreChangedError instead of resuming by sequence.
//
// Every call takes a context.Context; a context without a deadline gets Options.RequestTimeout.
// At most Options.MaxInFlight calls await answers; beyond that a call waits for room until its
// deadline.
//
// Errors are typed: a broker ERROR is a *WireError (code, message, version 2 fields), or one of
// the types that unwrap to it and carry the number a client acts on: *SequenceMismatchError
// (LastSequence), *SequenceNotRetainedError (FirstRetainedSequence), *BackpressureError
// (RetryAfterMillis), *ProducerSequenceError (LastProducerSequence), *StoreChangedError. Local
// failures are *TimeoutError (errors.Is(err, context.DeadlineExceeded)) and *ConnectionError
// (errors.Is(err, wirebus.ErrConnection)).
//
//	c, err := wirebus.Dial(ctx, wirebus.WithAddresses("unix:///run/wirebus.sock", "tcp://10.0.0.5:7440"))
//	ack, err := c.Publish(ctx, "blocks", block, wirebus.ExpectSequence(height))
//	var sm *wirebus.SequenceMismatchError
//	if errors.As(err, &sm) { /* the stream is at sm.LastSequence */ }
//
//	sub, err := c.Subscribe(ctx, "blocks", wirebus.SubscribeOptions{Start: wirebus.Earliest,
//		Consumer: "executor", AckMode: wirebus.AckManual, MaxLag: 500})
//	for {
//		m, err := sub.Next(ctx)
//		...
//		sub.AckNoWait(m.Sequence)
//	}
//
// BatchSender is the high-rate publisher: a bounded queue, N workers with one connection each,
// a stream always on the same worker, per-message results or fire-and-forget, Block (until the
// context's deadline) or Reject with ErrQueueFull when full.
//
// The parts have one job each: codec.go (frames and bytes), conn.go (one connection: dial,
// handshake, batched writes), calls.go (the call table), client.go (reconnects and the API),
// subscription.go, responder.go and batching.go.
package wirebus
