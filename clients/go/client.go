package wirebus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// State is the client's connection state.
type State int32

// Connection states.
const (
	StateConnecting State = iota
	StateConnected
	StateReconnecting
	StateClosed
)

func (s State) String() string {
	return [...]string{"CONNECTING", "CONNECTED", "RECONNECTING", "CLOSED"}[s]
}

// ReconnectPolicy: capped exponential backoff with ±20 % jitter. MaxAttempts 0 is unlimited;
// Disabled closes the client when its connection is lost.
type ReconnectPolicy struct {
	Initial, Max time.Duration
	MaxAttempts  int
	Disabled     bool
}

// Delay before attempt n (1-based) of one outage.
func (p ReconnectPolicy) Delay(n int) time.Duration {
	d := p.Initial
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	if d > p.Max {
		d = p.Max
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// Options are a client's settings. Zero values take the defaults.
type Options struct {
	// Addresses tried in turn: unix:///path, tcp://host:port (default: DefaultAddress()).
	Addresses []string
	// Name for the broker's logs.
	Name string
	// ConnectTimeout bounds one connection attempt including the handshake (default 5 s).
	ConnectTimeout time.Duration
	// RequestTimeout is the deadline of a call whose context has none (default 10 s).
	RequestTimeout time.Duration
	// Reconnect (default 20 ms doubling to 2 s, unlimited attempts).
	Reconnect ReconnectPolicy
	// MaxInFlight bounds the calls awaiting answers (default 65536); a call beyond it waits for
	// room until its deadline.
	MaxInFlight int
	// SubscriptionWindow is the default credit window W of a subscription (default 4096).
	SubscriptionWindow int
	// MaxConcurrentRequests bounds the responder handlers running at once (default 256); a
	// request beyond it is answered with BACKPRESSURE.
	MaxConcurrentRequests int
	// WriteTimeout: a write blocked this long drops the connection (default 10 s).
	WriteTimeout time.Duration
	// OnError hears of errors not tied to a call (lost connections, GOAWAY, a subscription ended
	// by the broker). It must return quickly.
	OnError func(error)
	// OnStateChange hears of state changes. It must return quickly.
	OnStateChange func(State)
	// Token is a bearer credential (a static token or a JWT) sent in AUTH right after WELCOME on
	// every connection. Empty: no AUTH (the broker's anonymous principal, or on a Unix socket the
	// peer's uid).
	Token string
	// TokenProvider, if set, is asked for the credential on every connection instead of Token
	// (so a reconnect after AUTH_EXPIRED can present a fresh one). When AUTH_OK says the
	// credential expires, the client also asks it for a fresh token when three quarters of the
	// remaining lifetime have passed and sends AUTH on the open connection, so the connection is
	// not closed with AUTH_EXPIRED (unless NoTokenRefresh).
	TokenProvider func(ctx context.Context) (string, error)
	// NoTokenRefresh turns that refresh off: the connection then ends with AUTH_EXPIRED at the
	// expiry and the client reconnects with a fresh token.
	NoTokenRefresh bool
	// TLS configures tls:// addresses (default: the system's roots, TLS 1.2+, the address's
	// host as server name).
	TLS *tls.Config
	// CAFile is a PEM file of CA certificates to trust for tls:// addresses (instead of the
	// system's roots; added to TLS.RootCAs when TLS is set too).
	CAFile string
}

// Option changes Options, for Dial.
type Option func(*Options)

// WithAddresses sets the broker addresses, tried in turn.
func WithAddresses(addresses ...string) Option {
	return func(o *Options) { o.Addresses = append([]string(nil), addresses...) }
}

// WithName sets the client's name for the broker's logs.
func WithName(name string) Option { return func(o *Options) { o.Name = name } }

// WithRequestTimeout sets the deadline of calls whose context has none.
func WithRequestTimeout(d time.Duration) Option { return func(o *Options) { o.RequestTimeout = d } }

// WithConnectTimeout sets the deadline of one connection attempt.
func WithConnectTimeout(d time.Duration) Option { return func(o *Options) { o.ConnectTimeout = d } }

// WithReconnect sets the reconnect policy.
func WithReconnect(p ReconnectPolicy) Option { return func(o *Options) { o.Reconnect = p } }

// WithMaxInFlight sets the in-flight window.
func WithMaxInFlight(n int) Option { return func(o *Options) { o.MaxInFlight = n } }

// WithSubscriptionWindow sets the default credit window of subscriptions.
func WithSubscriptionWindow(n int) Option { return func(o *Options) { o.SubscriptionWindow = n } }

// WithErrorHandler sets OnError.
func WithErrorHandler(f func(error)) Option { return func(o *Options) { o.OnError = f } }

// WithStateHandler sets OnStateChange.
func WithStateHandler(f func(State)) Option { return func(o *Options) { o.OnStateChange = f } }

func (o *Options) defaults() error {
	if len(o.Addresses) == 0 {
		o.Addresses = []string{DefaultAddress()}
	}
	for _, a := range o.Addresses {
		if _, _, err := ParseAddress(a); err != nil {
			return err
		}
	}
	if o.Name == "" {
		o.Name = "wirebus-go"
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 10 * time.Second
	}
	if o.Reconnect.Initial <= 0 {
		o.Reconnect.Initial = 20 * time.Millisecond
	}
	if o.Reconnect.Max < o.Reconnect.Initial {
		o.Reconnect.Max = 2 * time.Second
		if o.Reconnect.Max < o.Reconnect.Initial {
			o.Reconnect.Max = o.Reconnect.Initial
		}
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 65536
	}
	if o.SubscriptionWindow <= 0 {
		o.SubscriptionWindow = 4096
	}
	if o.SubscriptionWindow > maxU31 {
		o.SubscriptionWindow = maxU31
	}
	if o.MaxConcurrentRequests <= 0 {
		o.MaxConcurrentRequests = 256
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.CAFile != "" {
		cfg, err := tlsWithCAFile(o.TLS, o.CAFile)
		if err != nil {
			return err
		}
		o.TLS = cfg
	}
	return nil
}

// Client is a connection to a wirebus broker that reconnects by itself: subscriptions resume
// at the last delivered sequence + 1, responders register again, idempotent publishes in flight
// are resent in order. Safe for concurrent use. Every call takes a context; one without a
// deadline gets Options.RequestTimeout.
type Client struct {
	opts     Options
	ids      atomic.Uint64
	slots    chan struct{}
	reqSem   chan struct{}
	closedCh chan struct{}
	state    atomic.Int32
	wg       sync.WaitGroup

	mu         sync.Mutex
	closed     bool
	token      *string // set by Auth: replaces Options.Token/TokenProvider for later connections
	cur        *conn
	addrIndex  int
	storeID    uint64
	calls      callTable
	subs       map[uint32]*Subscription
	subIDs     uint32
	responders map[string]*Responder
}

// Dial connects to the first address that answers (tried in turn) and handshakes.
//
//	c, err := wirebus.Dial(ctx, wirebus.WithAddresses("unix:///run/wirebus.sock", "tcp://10.0.0.5:7440"))
func Dial(ctx context.Context, opts ...Option) (*Client, error) {
	var o Options
	for _, f := range opts {
		f(&o)
	}
	return Connect(ctx, o)
}

// Connect is Dial with an Options value.
func Connect(ctx context.Context, o Options) (*Client, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	cl := &Client{
		opts:       o,
		slots:      make(chan struct{}, o.MaxInFlight),
		reqSem:     make(chan struct{}, o.MaxConcurrentRequests),
		closedCh:   make(chan struct{}),
		calls:      newCallTable(),
		subs:       map[uint32]*Subscription{},
		responders: map[string]*Responder{},
	}
	cn, err := cl.dialAny(ctx)
	if err != nil {
		return nil, err
	}
	cl.onConnected(cn)
	cl.wg.Add(1)
	go cl.supervise(cn)
	return cl, nil
}

// dialAny tries each address once, starting with the one used last (the next one after a GOAWAY).
func (cl *Client) dialAny(ctx context.Context) (*conn, error) {
	var errs []string
	n := len(cl.opts.Addresses)
	cl.mu.Lock()
	first := cl.addrIndex
	cl.mu.Unlock()
	var last error
	for i := 0; i < n; i++ {
		idx := (first + i) % n
		addr := cl.opts.Addresses[idx]
		actx, cancel := context.WithTimeout(ctx, cl.opts.ConnectTimeout)
		cred, err := cl.credential(actx)
		if err != nil {
			cancel()
			return nil, err
		}
		cn, err := dialConn(actx, addr, dialSettings{name: cl.opts.Name, helloID: cl.ids.Add(1), authID: cl.ids.Add(1),
			writeTimeout: cl.opts.WriteTimeout, credential: cred, tls: cl.opts.TLS})
		cancel()
		if err == nil {
			cl.mu.Lock()
			cl.addrIndex = idx
			cl.mu.Unlock()
			return cn, nil
		}
		if isFinalAuthError(err) {
			return nil, err // another address would refuse the same credential for the same reason
		}
		last = err
		errs = append(errs, err.Error())
		if ctx.Err() != nil {
			break
		}
	}
	if n == 1 {
		return nil, last
	}
	return nil, &ConnectionError{Msg: "no broker answered at " + strings.Join(cl.opts.Addresses, ", ") + " (" + strings.Join(errs, "; ") + ")"}
}

func (cl *Client) setState(s State) {
	if State(cl.state.Swap(int32(s))) != s && cl.opts.OnStateChange != nil {
		cl.opts.OnStateChange(s)
	}
}

// State is the current connection state.
func (cl *Client) State() State { return State(cl.state.Load()) }

// ProtocolVersion is the version negotiated on the current connection (0 when not connected).
func (cl *Client) ProtocolVersion() int {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.cur == nil {
		return 0
	}
	return cl.cur.version
}

// Address is the address of the current (or last) connection.
func (cl *Client) Address() string {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.opts.Addresses[cl.addrIndex]
}

func (cl *Client) report(err error) {
	if cl.opts.OnError != nil && err != nil {
		cl.opts.OnError(err)
	}
}

func (cl *Client) closedError() error {
	return &ConnectionError{Msg: "client is closed", Err: ErrClosed}
}

// supervise runs the read loop of each connection and reconnects after it ends.
func (cl *Client) supervise(cn *conn) {
	defer cl.wg.Done()
	for {
		err := cl.readLoop(cn)
		cl.onDisconnected(cn, err)
		if cl.isClosed() {
			return
		}
		if cl.opts.Reconnect.Disabled {
			cl.shutdown(&ConnectionError{Msg: "connection to " + cn.address + " lost (reconnect disabled)", Err: err})
			return
		}
		cl.setState(StateReconnecting)
		cn = cl.reconnect()
		if cn == nil {
			return
		}
	}
}

func (cl *Client) isClosed() bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.closed
}

// reconnect retries with backoff until a connection is up (nil when the client closed or gave up).
func (cl *Client) reconnect() *conn {
	var last error
	for attempt := 1; ; attempt++ {
		if max := cl.opts.Reconnect.MaxAttempts; max > 0 && attempt > max {
			cl.shutdown(&ConnectionError{Msg: fmt.Sprintf("gave up reconnecting after %d attempts", max), Err: last})
			return nil
		}
		t := time.NewTimer(cl.opts.Reconnect.Delay(attempt))
		select {
		case <-cl.closedCh:
			t.Stop()
			return nil
		case <-t.C:
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-cl.closedCh:
				cancel()
			case <-ctx.Done():
			}
		}()
		cn, err := cl.dialAny(ctx)
		cancel()
		if err == nil {
			if !cl.onConnected(cn) {
				return nil
			}
			return cn
		}
		if isFinalAuthError(err) {
			cl.shutdown(err)
			return nil
		}
		last = err
		cl.report(&ConnectionError{Msg: fmt.Sprintf("reconnect attempt %d failed", attempt), Err: err})
	}
}

// onConnected makes cn the current connection: subscriptions, responders, resent and pending
// calls go out first, in that order. False when the client closed meanwhile.
func (cl *Client) onConnected(cn *conn) bool {
	var ended []*Subscription
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		cn.close()
		return false
	}
	changed := cl.storeID != 0 && cn.storeID != cl.storeID
	old := cl.storeID
	cl.storeID = cn.storeID
	cl.cur = cn
	refresh := cn.expiresAt != 0 && cl.opts.TokenProvider != nil && !cl.opts.NoTokenRefresh && cl.token == nil
	ids := make([]uint32, 0, len(cl.subs))
	for id := range cl.subs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		s := cl.subs[id]
		if changed {
			delete(cl.subs, id)
			ended = append(ended, s)
			continue
		}
		cl.sendSubscribeLocked(cn, s)
	}
	subjects := make([]string, 0, len(cl.responders))
	for subj := range cl.responders {
		subjects = append(subjects, subj)
	}
	sort.Strings(subjects)
	for _, subj := range subjects {
		cl.sendRespondOnLocked(cn, subj, nil)
	}
	var tooLarge []*call
	for _, c := range cl.calls.pending {
		if err := cn.enqueue(c.frame); err != nil {
			var tl *FrameTooLargeError
			if errors.As(err, &tl) {
				delete(cl.calls.byID, c.id)
				c.err = err
				tooLarge = append(tooLarge, c)
				continue
			}
			break // the connection is gone already: the calls stay pending for the next one
		}
		c.conn = cn
	}
	kept := cl.calls.pending[:0]
	for _, c := range cl.calls.pending {
		if c.conn == nil && c.err == nil {
			kept = append(kept, c)
		}
	}
	cl.calls.pending = kept
	cl.mu.Unlock()
	for _, c := range tooLarge {
		cl.finish(c, nil, c.err)
	}
	if changed {
		err := &StoreChangedError{WireError: WireError{Code: CodeStoreChanged, Number: uint16(CodeStoreChanged),
			Message: fmt.Sprintf("broker %s came back with a different store (id %d before, %d now): the streams' history was lost, so subscriptions cannot resume without a gap; subscribe again explicitly", cn.address, old, cn.storeID)},
			OldStoreID: old, NewStoreID: cn.storeID}
		for _, s := range ended {
			s.end(err)
		}
		cl.report(err)
	}
	cn.flush()
	cl.setState(StateConnected)
	if refresh {
		cl.wg.Add(1)
		go cl.refreshCredential(cn)
	}
	return true
}

// onDisconnected fails the calls written on cn (except idempotent publishes, kept for resending).
func (cl *Client) onDisconnected(cn *conn, cause error) {
	cl.mu.Lock()
	if cl.cur == cn {
		cl.cur = nil
	}
	failed := cl.calls.lost(cn, !cl.closed)
	for _, s := range cl.subs {
		s.disconnected(cn)
	}
	if cn.goaway.Load() {
		cl.addrIndex = (cl.addrIndex + 1) % len(cl.opts.Addresses)
	}
	closed := cl.closed
	cl.mu.Unlock()
	for _, c := range failed {
		var err error
		if closed {
			err = cl.closedError()
		} else {
			err = &ConnectionError{Msg: "connection to " + cn.address + " lost before " + c.desc() + " was answered; its outcome is unknown", Err: cause}
		}
		cl.finish(c, nil, err)
	}
	if !closed {
		cl.report(&ConnectionError{Msg: "connection to " + cn.address + " lost", Err: cause})
	}
}

// readLoop handles the broker's frames until the connection ends.
func (cl *Client) readLoop(cn *conn) error {
	defer close(cn.done)
	defer cn.close()
	for {
		f, err := cn.fr.Next()
		if err != nil {
			var pe *ProtocolError
			if errors.As(err, &pe) {
				err = &ConnectionError{Msg: "broker " + cn.address + " sent a bad frame", Err: err}
				cl.report(err)
			}
			return err
		}
		switch f.Type {
		case TypeDeliver:
			cl.mu.Lock()
			s := cl.subs[f.SubscriptionID]
			cl.mu.Unlock()
			if s != nil {
				s.onDeliver(cn, f)
			}
		case TypeSubscriptionClose:
			cl.mu.Lock()
			s := cl.subs[f.SubscriptionID]
			if s != nil && s.onConn(cn) {
				delete(cl.subs, f.SubscriptionID)
			} else {
				s = nil
			}
			cl.mu.Unlock()
			if s != nil {
				err := errorFrom(f.Code, f.Message, f.Fields)
				s.end(err)
				cl.report(fmt.Errorf("wirebus: subscription to %q ended by the broker: %w", s.stream, err))
			}
		case TypeRequest:
			cl.onRequest(cn, f)
		case TypePing:
			cn.send(&Frame{Type: TypePong, RequestID: f.RequestID})
		case TypeGoAway:
			cn.goaway.Store(true)
			cl.report(&ConnectionError{Msg: fmt.Sprintf("broker %s is going away (%s): %s", cn.address, Known(f.Code), f.Message)})
		case TypeError:
			if f.RequestID == 0 {
				cl.report(&ConnectionError{Msg: "broker " + cn.address + " reported a connection error", Err: errorFrom(f.Code, f.Message, f.Fields)})
				continue
			}
			cl.answer(cn, f)
		case TypeWelcome, TypeHello:
			// not expected after the handshake; ignored
		default:
			cl.answer(cn, f)
		}
	}
}

// Close closes the client: every call still waiting fails with a ConnectionError (ErrClosed),
// subscriptions end, and its goroutines stop (Close waits up to 5 s for them; do not call it
// from a callback such as PublishAsync's, which runs on the client's read goroutine).
func (cl *Client) Close() error {
	cl.shutdown(nil)
	stopped := make(chan struct{})
	go func() {
		cl.wg.Wait()
		close(stopped)
	}()
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-stopped:
		return nil
	case <-t.C:
		return errors.New("wirebus: the client's read goroutine did not stop within 5 s (Close called from a callback?)")
	}
}

func (cl *Client) shutdown(reason error) {
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return
	}
	cl.closed = true
	close(cl.closedCh)
	cn := cl.cur
	calls := cl.calls.all()
	subs := make([]*Subscription, 0, len(cl.subs))
	for id, s := range cl.subs {
		subs = append(subs, s)
		delete(cl.subs, id)
	}
	cl.mu.Unlock()
	cl.setState(StateClosed)
	if cn != nil {
		cn.close()
	}
	err := reason
	if err == nil {
		err = cl.closedError()
	}
	for _, c := range calls {
		cl.finish(c, nil, err)
	}
	for _, s := range subs {
		s.end(err)
	}
	if reason != nil {
		cl.report(reason)
	}
}

// ---------------------------------------------------------------- API

// PublishAck says where a publish was appended: [FirstSequence, FirstSequence+Count). Duplicate
// is set when an idempotent batch had been appended before (these are its original sequences).
type PublishAck struct {
	FirstSequence uint64
	Count         uint32
	Duplicate     bool
}

// PublishOption modifies a publish.
type PublishOption func(*Frame)

// ExpectSequence appends only if seq is the stream's last sequence + 1 (else a
// *SequenceMismatchError). For a batch it is the first record's sequence.
func ExpectSequence(seq uint64) PublishOption {
	return func(f *Frame) { f.ExpectedSequence = seq }
}

// AsBatch sends even a single message as PUBLISH_BATCH (the default for one message is PUBLISH;
// both append the same way).
func AsBatch() PublishOption {
	return func(f *Frame) {
		if f.Type != TypePublishIdempotent {
			f.Type = TypePublishBatch
		}
	}
}

// AsProducer publishes idempotently (PUBLISH_IDEMPOTENT) as batch producerSequence of producer:
// the broker appends it at most once, and the client resends it after a reconnect.
func AsProducer(producer string, producerSequence uint64) PublishOption {
	return func(f *Frame) {
		f.Type = TypePublishIdempotent
		f.ProducerID = producer
		f.ProducerSequence = producerSequence
	}
}

func checkName(what, name string) error {
	if name == "" || len(name) > maxStringBytes {
		return fmt.Errorf("wirebus: %s must be 1 to %d UTF-8 bytes", what, maxStringBytes)
	}
	return nil
}

func expect(f *Frame, t FrameType, what func() string) error {
	if f.Type != t {
		return &ConnectionError{Msg: fmt.Sprintf("broker answered %s with %s", what(), f.Type)}
	}
	return nil
}

func (cl *Client) publishFrame(stream string, payloads [][]byte, opts []PublishOption) (*Frame, error) {
	if err := checkName("stream", stream); err != nil {
		return nil, err
	}
	if len(payloads) == 0 {
		return nil, errors.New("wirebus: a batch needs at least one message")
	}
	f := &Frame{Stream: stream, Records: payloads}
	for _, o := range opts {
		o(f)
	}
	if f.Type == 0 {
		f.Type = TypePublishBatch
		if len(payloads) == 1 {
			f.Type = TypePublish
		}
	}
	if f.ExpectedSequence > maxU63 {
		return nil, fmt.Errorf("wirebus: expected sequence %d exceeds 2^63-1", f.ExpectedSequence)
	}
	if f.Type == TypePublishIdempotent {
		if err := checkName("producer id", f.ProducerID); err != nil {
			return nil, err
		}
		if f.ProducerSequence < 1 || f.ProducerSequence > maxU63 {
			return nil, fmt.Errorf("wirebus: producer sequence must be 1 to 2^63-1, was %d", f.ProducerSequence)
		}
	} else if f.Type == TypePublish {
		f.Payload = payloads[0]
		f.Records = nil
	}
	f.RequestID = cl.ids.Add(1)
	return f, nil
}

func publishDesc(f *Frame) func() string {
	return func() string {
		if f.Type == TypePublishIdempotent {
			return fmt.Sprintf("%s of %d on stream '%s' by producer '%s' #%d", f.Type, len(f.Records), f.Stream, f.ProducerID, f.ProducerSequence)
		}
		return fmt.Sprintf("%s on stream '%s'", f.Type, f.Stream)
	}
}

func ackOf(f *Frame, desc func() string) (PublishAck, error) {
	if err := expect(f, TypePublishAck, desc); err != nil {
		return PublishAck{}, err
	}
	return PublishAck{FirstSequence: f.FirstSequence, Count: f.Count, Duplicate: f.Duplicate()}, nil
}

// Publish appends one message to stream and returns where (PublishAck.FirstSequence).
func (cl *Client) Publish(ctx context.Context, stream string, payload []byte, opts ...PublishOption) (PublishAck, error) {
	return cl.PublishBatch(ctx, stream, [][]byte{payload}, opts...)
}

// PublishBatch appends payloads atomically and contiguously.
func (cl *Client) PublishBatch(ctx context.Context, stream string, payloads [][]byte, opts ...PublishOption) (PublishAck, error) {
	f, err := cl.publishFrame(stream, payloads, opts)
	if err != nil {
		return PublishAck{}, err
	}
	desc := publishDesc(f)
	c, err := cl.start(ctx, f, true, f.Type == TypePublishIdempotent, desc, nil)
	if err != nil {
		return PublishAck{}, err
	}
	resp, err := cl.wait(ctx, c)
	if err != nil {
		return PublishAck{}, err
	}
	return ackOf(resp, desc)
}

// PublishAsync sends a publish without waiting for its answer: done runs once (on a client
// goroutine, so it must return quickly) with the ack or the error. It waits only for room in the
// in-flight window. The answer's deadline is ctx's, else the client's RequestTimeout; a lost
// connection fails it with a ConnectionError (idempotent publishes are resent instead). The
// payloads must not change until done has run: they are sent again after a reconnect.
func (cl *Client) PublishAsync(ctx context.Context, stream string, payloads [][]byte, done func(PublishAck, error), opts ...PublishOption) error {
	f, err := cl.publishFrame(stream, payloads, opts)
	if err != nil {
		return err
	}
	desc := publishDesc(f)
	_, err = cl.start(ctx, f, true, f.Type == TypePublishIdempotent, desc, func(resp *Frame, err error) {
		if err != nil {
			done(PublishAck{}, err)
			return
		}
		done(ackOf(resp, desc))
	})
	return err
}

// Producer publishes idempotently under one producer id, numbering its batches itself: batches
// whose ack was lost with a connection are resent after the reconnect and appended once.
// Producer sequences start at the current time in microseconds, so a restarted process under the
// same id keeps them increasing.
type Producer struct {
	cl  *Client
	id  string
	mu  sync.Mutex
	seq uint64
}

// Producer returns an idempotent producer named id (stable across restarts, never shared).
func (cl *Client) Producer(id string) *Producer {
	return &Producer{cl: cl, id: id, seq: uint64(time.Now().UnixMicro())}
}

// Publish appends payloads as one idempotent batch.
func (p *Producer) Publish(ctx context.Context, stream string, payloads ...[]byte) (PublishAck, error) {
	p.mu.Lock()
	p.seq++
	seq := p.seq
	p.mu.Unlock()
	return p.cl.PublishBatch(ctx, stream, payloads, AsProducer(p.id, seq))
}

// Message is a delivered or fetched message.
type Message struct {
	Stream   string
	Sequence uint64
	Payload  []byte
}

// FetchResult is a page of history: Messages from FirstSequence on; LastSequence is the stream's.
type FetchResult struct {
	Stream        string
	FirstSequence uint64
	LastSequence  uint64
	Messages      []Message
}

// Fetch reads up to max messages of stream from sequence from (at least 1), without subscribing.
func (cl *Client) Fetch(ctx context.Context, stream string, from uint64, max int) (FetchResult, error) {
	if err := checkName("stream", stream); err != nil {
		return FetchResult{}, err
	}
	if from < 1 || from > maxU63 || max < 1 || max > maxU31 {
		return FetchResult{}, fmt.Errorf("wirebus: fetch needs from >= 1 and 1 <= max <= 2^31-1, got %d and %d", from, max)
	}
	f := &Frame{Type: TypeFetch, RequestID: cl.ids.Add(1), Stream: stream, FromSequence: from, MaxMessages: uint32(max)}
	desc := func() string { return fmt.Sprintf("FETCH from stream '%s' at %d", stream, from) }
	resp, err := cl.roundTrip(ctx, f, desc)
	if err != nil {
		return FetchResult{}, err
	}
	if err := expect(resp, TypeFetched, desc); err != nil {
		return FetchResult{}, err
	}
	r := FetchResult{Stream: stream, FirstSequence: resp.FirstSequence, LastSequence: resp.LastSequence}
	for i, p := range resp.Records {
		r.Messages = append(r.Messages, Message{Stream: stream, Sequence: resp.FirstSequence + uint64(i), Payload: p})
	}
	return r, nil
}

// ConsumerInfo describes one durable consumer; Lag is the stream's last sequence − AckedSequence.
type ConsumerInfo struct {
	Name          string
	AckedSequence uint64
	Lag           uint64
	MaxLag        uint32
	Connected     bool
}

// StreamConsumers is the answer to Consumers.
type StreamConsumers struct {
	Stream            string
	LastSequence      uint64
	HeldPublishes     uint32
	HeldMillis        uint64
	RejectedPublishes uint64
	Consumers         []ConsumerInfo
}

// Consumers lists the durable consumers of stream and the state of its gate.
func (cl *Client) Consumers(ctx context.Context, stream string) (StreamConsumers, error) {
	if err := checkName("stream", stream); err != nil {
		return StreamConsumers{}, err
	}
	f := &Frame{Type: TypeConsumers, RequestID: cl.ids.Add(1), Stream: stream}
	desc := func() string { return fmt.Sprintf("CONSUMERS of stream '%s'", stream) }
	resp, err := cl.roundTrip(ctx, f, desc)
	if err != nil {
		return StreamConsumers{}, err
	}
	if err := expect(resp, TypeConsumerList, desc); err != nil {
		return StreamConsumers{}, err
	}
	r := StreamConsumers{Stream: stream, LastSequence: resp.LastSequence, HeldPublishes: resp.HeldPublishes,
		HeldMillis: resp.HeldMillis, RejectedPublishes: resp.RejectedPublishes}
	for _, c := range resp.Consumers {
		lag := uint64(0)
		if resp.LastSequence > c.AckedSequence {
			lag = resp.LastSequence - c.AckedSequence
		}
		r.Consumers = append(r.Consumers, ConsumerInfo{Name: c.Name, AckedSequence: c.AckedSequence, Lag: lag, MaxLag: c.MaxLag, Connected: c.Connected})
	}
	return r, nil
}

// Ping measures a round trip to the broker.
func (cl *Client) Ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	f := &Frame{Type: TypePing, RequestID: cl.ids.Add(1)}
	resp, err := cl.roundTrip(ctx, f, func() string { return "PING" })
	if err != nil {
		return 0, err
	}
	return time.Since(start), expect(resp, TypePong, func() string { return "PING" })
}

// roundTrip sends a call outside the in-flight window and waits for its answer.
func (cl *Client) roundTrip(ctx context.Context, f *Frame, desc func() string) (*Frame, error) {
	c, err := cl.start(ctx, f, true, false, desc, nil)
	if err != nil {
		return nil, err
	}
	return cl.wait(ctx, c)
}
