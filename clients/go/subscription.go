package wirebus

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// StartPosition says where a new subscription starts.
type StartPosition struct {
	kind uint8
	seq  uint64
}

// Start positions.
var (
	// Earliest: the first sequence the stream retains.
	Earliest = StartPosition{kind: StartEarliest}
	// Latest: only messages appended from now on.
	Latest = StartPosition{kind: StartLatest}
)

// FromSequence starts at sequence seq (at least 1; it may lie beyond the stream's end).
func FromSequence(seq uint64) StartPosition { return StartPosition{kind: StartSequence, seq: seq} }

func (p StartPosition) String() string {
	switch p.kind {
	case StartLatest:
		return "latest"
	case StartSequence:
		return fmt.Sprintf("sequence %d", p.seq)
	}
	return "earliest"
}

// AckMode of a durable consumer.
type AckMode uint8

// Ack modes.
const (
	// AckOnDeliver: the consumer's position advances as messages are delivered.
	AckAuto AckMode = AckMode(AckOnDelivery)
	// AckManual: the position advances only on Subscription.Ack.
	AckManual AckMode = AckMode(AckExplicit)
)

// SubscribeOptions: where to start, the credit window and, for a durable consumer, its name,
// ack mode and maxLag.
type SubscribeOptions struct {
	Start StartPosition
	// Window W of credits (default: the client's SubscriptionWindow). At most W messages are
	// buffered; W/2 credits go back each time the application has taken W/2 messages.
	Window int
	// Consumer names a durable consumer (CONSUME); empty subscribes plainly.
	Consumer string
	AckMode  AckMode
	// MaxLag > 0 gates publishers: the stream runs at most MaxLag messages ahead of this
	// consumer's acknowledged position.
	MaxLag uint32
}

// Subscription is a cursor over a stream. Messages arrive in order, each exactly once, also
// across reconnects (it resumes at the last received sequence + 1). Take them with Next from one
// goroutine, or use Client.SubscribeFunc.
type Subscription struct {
	cl     *Client
	id     uint32
	stream string
	opts   SubscribeOptions
	window int

	signal  chan struct{}
	started chan struct{}
	done    chan struct{}

	mu        sync.Mutex
	queue     []Message
	head      int
	nextSeq   uint64 // sequence after the last one received; 0 before the first SUBSCRIBED
	startSeq  uint64
	taken     int // messages taken since the last CREDIT
	lastTaken uint64
	conn      *conn // the connection it is subscribed on, nil while not
	open      bool
	isStarted bool
	err       error
	ackWanted uint64 // highest sequence acknowledged with AckNoWait
}

// Subscribe opens a subscription (a durable consumer when opts.Consumer is set) and waits for the
// broker's confirmation.
func (cl *Client) Subscribe(ctx context.Context, stream string, opts SubscribeOptions) (*Subscription, error) {
	if err := checkName("stream", stream); err != nil {
		return nil, err
	}
	if opts.Consumer != "" {
		if err := checkName("consumer", opts.Consumer); err != nil {
			return nil, err
		}
	}
	if opts.Start.kind == StartSequence && (opts.Start.seq < 1 || opts.Start.seq > maxU63) {
		return nil, fmt.Errorf("wirebus: a start sequence must be 1 to 2^63-1, was %d", opts.Start.seq)
	}
	if opts.MaxLag > maxU31 {
		return nil, fmt.Errorf("wirebus: maxLag must be at most 2^31-1")
	}
	w := opts.Window
	if w <= 0 {
		w = cl.opts.SubscriptionWindow
	}
	if w > maxU31 {
		w = maxU31
	}
	s := &Subscription{cl: cl, stream: stream, opts: opts, window: w, open: true,
		signal: make(chan struct{}, 1), started: make(chan struct{}), done: make(chan struct{})}
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return nil, cl.closedError()
	}
	cl.subIDs++
	if cl.subIDs > maxU31 {
		cl.subIDs = 1
	}
	s.id = cl.subIDs
	cl.subs[s.id] = s
	cn := cl.cur
	if cn != nil && !cn.goaway.Load() {
		cl.sendSubscribeLocked(cn, s)
	} else {
		cn = nil // goes out with the others once connected
	}
	cl.mu.Unlock()
	if cn != nil {
		cn.flush()
	}
	timeout, stop := defaultTimeout(ctx, cl.opts.RequestTimeout)
	defer stop()
	var werr error
	select {
	case <-s.started:
		s.mu.Lock()
		ok, err := s.isStarted, s.err
		s.mu.Unlock()
		if ok {
			return s, nil
		}
		return nil, err
	case <-ctx.Done():
		werr = &TimeoutError{Msg: "no SUBSCRIBED for stream '" + stream + "' before the context ended", Err: ctx.Err()}
	case <-timeout:
		werr = &TimeoutError{Msg: fmt.Sprintf("no SUBSCRIBED for stream '%s' within %v", stream, cl.opts.RequestTimeout)}
	}
	cctx, cancel := context.WithTimeout(context.Background(), cl.opts.RequestTimeout)
	defer cancel()
	s.Close(cctx)
	return nil, werr
}

// SubscribeFunc subscribes and runs handler for each message, in order, on its own goroutine.
// A handler error ends the subscription with that error (Err, Done).
func (cl *Client) SubscribeFunc(ctx context.Context, stream string, opts SubscribeOptions, handler func(Message) error) (*Subscription, error) {
	s, err := cl.Subscribe(ctx, stream, opts)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			m, err := s.Next(context.Background())
			if err != nil {
				return
			}
			if herr := handler(m); herr != nil {
				herr = fmt.Errorf("wirebus: handler of subscription to %q failed on sequence %d: %w", s.stream, m.Sequence, herr)
				s.closeWith(herr)
				cl.report(herr)
				return
			}
		}
	}()
	return s, nil
}

// sendSubscribeLocked (client mutex held) writes SUBSCRIBE or CONSUME for s on cn: at the start
// position the first time, at the last received sequence + 1 after that.
func (cl *Client) sendSubscribeLocked(cn *conn, s *Subscription) {
	s.mu.Lock()
	if !s.open {
		s.mu.Unlock()
		return
	}
	queued := len(s.queue) - s.head
	credits := s.window - queued
	if credits < 1 {
		credits = 1
	}
	s.taken = 0
	f := &Frame{RequestID: cl.ids.Add(1), SubscriptionID: s.id, Stream: s.stream, Credits: uint32(credits),
		StartKind: s.opts.Start.kind, StartSequence: s.opts.Start.seq}
	if s.nextSeq > 0 {
		f.StartKind, f.StartSequence = StartSequence, s.nextSeq
	}
	f.Type = TypeSubscribe
	if s.opts.Consumer != "" {
		f.Type = TypeConsume
		f.Consumer = s.opts.Consumer
		f.AckMode = uint8(s.opts.AckMode)
		f.MaxLag = s.opts.MaxLag
		if s.nextSeq > 0 {
			f.Resume = 1
		}
	}
	ack := s.ackWanted
	s.mu.Unlock()
	c := &call{id: f.RequestID, frame: f, renewed: true, desc: func() string { return fmt.Sprintf("%s to stream '%s'", f.Type, s.stream) }}
	c.cb = func(resp *Frame, err error) { cl.onSubscribeAnswer(cn, s, resp, err) }
	if err := cn.enqueue(f); err != nil {
		return // the connection is gone: the next one subscribes again
	}
	c.conn = cn
	cl.calls.add(c)
	if ack > 0 && f.Resume == 1 {
		cn.enqueue(&Frame{Type: TypeAck, SubscriptionID: s.id, Sequence: ack})
	}
}

func (cl *Client) onSubscribeAnswer(cn *conn, s *Subscription, resp *Frame, err error) {
	if err != nil {
		var ce *ConnectionError
		if errors.As(err, &ce) && !errors.Is(err, ErrClosed) {
			return // subscribed again on the next connection
		}
		var we *WireError
		if errors.As(err, &we) && we.Code == CodeShuttingDown {
			cn.goaway.Store(true)
			return // the broker is going away: subscribed again on the next connection
		}
		cl.mu.Lock()
		if cl.subs[s.id] == s {
			delete(cl.subs, s.id)
		}
		cl.mu.Unlock()
		s.end(err)
		return
	}
	if resp.Type != TypeSubscribed {
		cl.report(&ConnectionError{Msg: fmt.Sprintf("broker answered SUBSCRIBE with %s", resp.Type)})
		cn.close()
		return
	}
	s.mu.Lock()
	if !s.open {
		s.mu.Unlock()
		return
	}
	if s.nextSeq == 0 {
		s.nextSeq = resp.StartSequence
		s.startSeq = resp.StartSequence
	} else if resp.StartSequence != s.nextSeq {
		want := s.nextSeq
		s.mu.Unlock()
		// never expected from a correct broker; resuming elsewhere would skip or repeat messages,
		// so the subscription ends, visibly
		err := fmt.Errorf("wirebus: re-subscription to '%s' from %d was confirmed from %d: ended rather than skip or repeat messages", s.stream, want, resp.StartSequence)
		cl.mu.Lock()
		if cl.subs[s.id] == s {
			delete(cl.subs, s.id)
		}
		cl.mu.Unlock()
		s.end(err)
		cl.report(err)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), cl.opts.RequestTimeout)
			defer cancel()
			s.unsubscribe(ctx)
		}()
		return
	}
	s.conn = cn
	first := !s.isStarted
	s.isStarted = true
	s.mu.Unlock()
	if first {
		close(s.started)
	}
}

// onConn reports whether s is subscribed on cn.
func (s *Subscription) onConn(cn *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn == cn
}

func (s *Subscription) disconnected(cn *conn) {
	s.mu.Lock()
	if s.conn == cn {
		s.conn = nil
	}
	s.mu.Unlock()
}

// onDeliver queues delivered messages (read goroutine).
func (s *Subscription) onDeliver(cn *conn, f *Frame) {
	s.mu.Lock()
	if !s.open || s.conn != cn {
		s.mu.Unlock()
		return
	}
	if f.FirstSequence != s.nextSeq {
		s.mu.Unlock()
		// never expected from a correct broker: refuse to hand a gap or a duplicate on
		s.cl.report(&ConnectionError{Msg: fmt.Sprintf("subscription to '%s' expected sequence %d but the broker delivered %d; reconnecting", s.stream, s.nextSeq, f.FirstSequence)})
		cn.close()
		return
	}
	for i, p := range f.Records {
		s.queue = append(s.queue, Message{Stream: s.stream, Sequence: f.FirstSequence + uint64(i), Payload: p})
	}
	s.nextSeq += uint64(len(f.Records))
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// end closes the subscription because of err (the broker ended it, or the client closed).
// Messages already received stay available to Next; it then returns err.
func (s *Subscription) end(err error) {
	s.mu.Lock()
	if !s.open {
		s.mu.Unlock()
		return
	}
	s.open = false
	s.err = err
	s.conn = nil
	wasStarted := s.isStarted
	s.isStarted = wasStarted
	s.mu.Unlock()
	if !wasStarted {
		close(s.started)
	}
	close(s.done)
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// Next returns the next message, waiting until one arrives, the subscription ends (its error:
// ErrSubscriptionClosed after Close, the broker's error, a *StoreChangedError, ...), or ctx ends.
// Messages that arrived before the end are returned first. Call it from one goroutine.
func (s *Subscription) Next(ctx context.Context) (Message, error) {
	for {
		s.mu.Lock()
		if s.head < len(s.queue) {
			m := s.queue[s.head]
			s.queue[s.head] = Message{}
			s.head++
			if s.head == len(s.queue) {
				s.queue = s.queue[:0]
				s.head = 0
			}
			s.lastTaken = m.Sequence
			s.taken++
			var grant int
			var cn *conn
			if half := s.window / 2; s.taken >= half || half == 0 {
				grant, s.taken = s.taken, 0
				cn = s.conn
			}
			s.mu.Unlock()
			if grant > 0 && cn != nil {
				cn.send(&Frame{Type: TypeCredit, SubscriptionID: s.id, Credits: uint32(grant)})
			}
			return m, nil
		}
		if !s.open {
			err := s.err
			s.mu.Unlock()
			return Message{}, err
		}
		s.mu.Unlock()
		select {
		case <-s.signal:
		case <-ctx.Done():
			return Message{}, &TimeoutError{Msg: "no message on stream '" + s.stream + "' before the context ended", Err: ctx.Err()}
		}
	}
}

// Messages gives the subscription's messages on a channel, for use in a select; the channel is
// closed when the subscription ends (Err then says why) or ctx ends. Use either Messages or Next,
// not both, and call Messages once.
func (s *Subscription) Messages(ctx context.Context) <-chan Message {
	ch := make(chan Message)
	go func() {
		defer close(ch)
		for {
			m, err := s.Next(ctx)
			if err != nil {
				return
			}
			select {
			case ch <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// Buffered is the number of messages received and not yet taken.
func (s *Subscription) Buffered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) - s.head
}

// Stream is the subscription's stream.
func (s *Subscription) Stream() string { return s.stream }

// StartSequence is where the subscription started (SUBSCRIBED's startSequence).
func (s *Subscription) StartSequence() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startSeq
}

// LastSequence is the sequence of the last message Next returned (0 before the first).
func (s *Subscription) LastSequence() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastTaken
}

// Done is closed when the subscription has ended; Err then says why.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err is why the subscription ended (nil while open).
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open {
		return nil
	}
	return s.err
}

// Ack acknowledges every message up to and including seq for a durable consumer and waits until
// the broker has stored the position (ACK with a request id, answered by OK). Sent after the
// re-CONSUME when the connection is being re-established.
func (s *Subscription) Ack(ctx context.Context, seq uint64) error {
	if s.opts.Consumer == "" {
		return fmt.Errorf("wirebus: subscription to '%s' is not a durable consumer's: nothing to ack", s.stream)
	}
	if seq > maxU63 {
		return fmt.Errorf("wirebus: sequence %d exceeds 2^63-1", seq)
	}
	s.noteAck(seq)
	f := &Frame{Type: TypeAck, RequestID: s.cl.ids.Add(1), SubscriptionID: s.id, Sequence: seq}
	// resendable: an acknowledgement is cumulative and a position never moves back, so an ACK
	// whose answer was lost with a connection is safely sent again after the re-CONSUME
	c, err := s.cl.start(ctx, f, true, true, func() string { return fmt.Sprintf("ACK of %d on stream '%s'", seq, s.stream) }, nil)
	if err != nil {
		return err
	}
	resp, err := s.cl.wait(ctx, c)
	if err != nil {
		return err
	}
	return expect(resp, TypeOK, func() string { return "ACK" })
}

// AckNoWait acknowledges up to seq without waiting for confirmation (ACK with request id 0). If
// the connection is down, the highest such acknowledgement goes out after the re-CONSUME.
func (s *Subscription) AckNoWait(seq uint64) error {
	if s.opts.Consumer == "" {
		return fmt.Errorf("wirebus: subscription to '%s' is not a durable consumer's: nothing to ack", s.stream)
	}
	s.noteAck(seq)
	s.mu.Lock()
	cn := s.conn
	s.mu.Unlock()
	if cn != nil {
		cn.send(&Frame{Type: TypeAck, SubscriptionID: s.id, Sequence: seq})
	}
	return nil
}

func (s *Subscription) noteAck(seq uint64) {
	s.mu.Lock()
	if seq > s.ackWanted {
		s.ackWanted = seq
	}
	s.mu.Unlock()
}

func (s *Subscription) closeWith(err error) {
	s.mu.Lock()
	if !s.open {
		s.mu.Unlock()
		return
	}
	s.queue, s.head = nil, 0
	s.mu.Unlock()
	s.end(err)
	cctx, cancel := context.WithTimeout(context.Background(), s.cl.opts.RequestTimeout)
	defer cancel()
	s.unsubscribe(cctx)
}

// Close ends the subscription (UNSUBSCRIBE); Next then returns ErrSubscriptionClosed.
func (s *Subscription) Close(ctx context.Context) error {
	s.mu.Lock()
	if !s.open {
		s.mu.Unlock()
		return nil
	}
	s.queue, s.head = nil, 0
	s.mu.Unlock()
	s.end(ErrSubscriptionClosed)
	return s.unsubscribe(ctx)
}

func (s *Subscription) unsubscribe(ctx context.Context) error {
	cl := s.cl
	cl.mu.Lock()
	if cl.subs[s.id] == s {
		delete(cl.subs, s.id)
	}
	connected := cl.cur != nil && !cl.closed
	cl.mu.Unlock()
	if !connected {
		return nil // nothing is open at the broker
	}
	f := &Frame{Type: TypeUnsubscribe, RequestID: cl.ids.Add(1), SubscriptionID: s.id}
	c, err := cl.start(ctx, f, false, false, func() string { return "UNSUBSCRIBE from stream '" + s.stream + "'" }, nil)
	if err != nil {
		return err
	}
	_, err = cl.wait(ctx, c)
	var we *WireError
	if errors.As(err, &we) && we.Code == CodeUnknownSubscription {
		return nil // it had ended already
	}
	var ce *ConnectionError
	if errors.As(err, &ce) {
		return nil // the connection ended, and the subscription with it
	}
	return err
}
