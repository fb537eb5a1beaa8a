package wirebus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// WhenFull is what the batching sender does when a worker's queue is full.
type WhenFull int

const (
	// Block waits for room until the call's context ends (or BlockTimeout without a deadline),
	// then fails with ErrQueueFull.
	Block WhenFull = iota
	// Reject fails with ErrQueueFull at once.
	Reject
)

// BatchOptions configure a BatchSender.
type BatchOptions struct {
	// Client options of every worker's connection (Addresses, Name as a prefix, timeouts...).
	Client Options
	// Workers, each with its own persistent connection (default 1).
	Workers int
	// QueueCapacity is the number of messages queued at most, split evenly over the workers
	// (default 65536).
	QueueCapacity int
	// MaxBatchMessages and MaxBatchBytes bound one PUBLISH_BATCH (default 1000 and 256 KiB; a
	// single larger message still goes alone).
	MaxBatchMessages int
	MaxBatchBytes    int
	// MaxInFlightBatches is the number of unacknowledged batches per worker (default 8).
	MaxInFlightBatches int
	WhenFull           WhenFull
	// BlockTimeout bounds a Block wait when the context has no deadline (default 10 s).
	BlockTimeout time.Duration
	// Idempotent sends PUBLISH_IDEMPOTENT as producer "<Name>-<worker>": batches whose ack was
	// lost with a connection are resent after the reconnect and appended once, instead of failing
	// with a ConnectionError.
	Idempotent bool
	// OnError hears of fire-and-forget messages that failed after they were queued.
	OnError func(error)
}

type batchEntry struct {
	stream  string
	payload []byte
	result  *PublishResult // nil: fire-and-forget
}

// PublishResult is the outcome of one message given to BatchSender.Publish.
type PublishResult struct {
	done chan struct{}
	seq  uint64
	err  error
}

// Done is closed once the message is acknowledged or failed.
func (r *PublishResult) Done() <-chan struct{} { return r.done }

// Wait returns the message's sequence, or why it failed, or a *TimeoutError when ctx ends first.
func (r *PublishResult) Wait(ctx context.Context) (uint64, error) {
	select {
	case <-r.done:
		return r.seq, r.err
	case <-ctx.Done():
		return 0, &TimeoutError{Msg: "no acknowledgement before the context ended", Err: ctx.Err()}
	}
}

// Result is the sequence or error once Done is closed.
func (r *PublishResult) Result() (uint64, error) { return r.seq, r.err }

// BatchSender publishes at high rates: callers queue messages (bounded), N workers each take runs
// of them off their queue and send them as PUBLISH_BATCH frames over their own connection, with
// a few batches in flight. A stream always goes to the same worker, so the messages of a stream
// queued from one goroutine are appended in that order. Nothing is dropped silently: a message
// is acknowledged, or its result (or OnError, for fire-and-forget) gets the error.
type BatchSender struct {
	opts    BatchOptions
	workers []*batchWorker

	queued, acked, failed, rejected atomic.Int64
	closed                          atomic.Bool

	settleMu  sync.Mutex
	settleCh  chan struct{}
	waiters   int
	closeOnce sync.Once
}

// NewBatchSender connects the workers.
func NewBatchSender(ctx context.Context, o BatchOptions) (*BatchSender, error) {
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.QueueCapacity <= 0 {
		o.QueueCapacity = 65536
	}
	if o.MaxBatchMessages <= 0 {
		o.MaxBatchMessages = 1000
	}
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = 256 * 1024
	}
	if o.MaxInFlightBatches <= 0 {
		o.MaxInFlightBatches = 8
	}
	if o.BlockTimeout <= 0 {
		o.BlockTimeout = 10 * time.Second
	}
	if o.Client.Name == "" {
		o.Client.Name = "batch-sender"
	}
	s := &BatchSender{opts: o, settleCh: make(chan struct{})}
	per := o.QueueCapacity / o.Workers
	if per < 1 {
		per = 1
	}
	for i := 0; i < o.Workers; i++ {
		co := o.Client
		co.Name = fmt.Sprintf("%s-%d", o.Client.Name, i)
		if co.MaxInFlight <= 0 {
			co.MaxInFlight = 2 * o.MaxInFlightBatches
		}
		cl, err := Connect(ctx, co)
		if err != nil {
			for _, w := range s.workers {
				w.cl.Close()
			}
			return nil, err
		}
		w := &batchWorker{s: s, cl: cl, capacity: per, notEmpty: make(chan struct{}, 1), space: make(chan struct{}),
			inflight: make(chan struct{}, o.MaxInFlightBatches), stopped: make(chan struct{}),
			producer: co.Name, pseq: uint64(time.Now().UnixMicro())}
		s.workers = append(s.workers, w)
	}
	for _, w := range s.workers {
		go w.run()
	}
	return s, nil
}

func (s *BatchSender) worker(stream string) *batchWorker {
	if len(s.workers) == 1 {
		return s.workers[0]
	}
	h := uint32(2166136261)
	for i := 0; i < len(stream); i++ {
		h ^= uint32(stream[i])
		h *= 16777619
	}
	return s.workers[h%uint32(len(s.workers))]
}

// Publish queues a message; its PublishResult gives the sequence once acknowledged. Fails at once
// with ErrQueueFull (no room by ctx's deadline, or at once with Reject) or a ConnectionError
// (closed).
func (s *BatchSender) Publish(ctx context.Context, stream string, payload []byte) (*PublishResult, error) {
	r := &PublishResult{done: make(chan struct{})}
	if err := s.enqueue(ctx, batchEntry{stream: stream, payload: payload, result: r}); err != nil {
		return nil, err
	}
	return r, nil
}

// Send queues a message without a result (fire-and-forget); failures after queuing go to OnError
// and FailedCount. Errors as Publish. As with Publish, payload must not change after the call:
// it is sent later, from the queue.
func (s *BatchSender) Send(ctx context.Context, stream string, payload []byte) error {
	return s.enqueue(ctx, batchEntry{stream: stream, payload: payload})
}

func (s *BatchSender) enqueue(ctx context.Context, e batchEntry) error {
	if err := checkName("stream", e.stream); err != nil {
		return err
	}
	if s.closed.Load() {
		s.rejected.Add(1)
		return &ConnectionError{Msg: "batch sender is closed", Err: ErrClosed}
	}
	err := s.worker(e.stream).push(ctx, e)
	if err != nil {
		s.rejected.Add(1)
		return err
	}
	s.queued.Add(1)
	return nil
}

// AckedCount, FailedCount, RejectedCount: messages acknowledged, failed after queuing, and not queued.
func (s *BatchSender) AckedCount() int64    { return s.acked.Load() }
func (s *BatchSender) FailedCount() int64   { return s.failed.Load() }
func (s *BatchSender) RejectedCount() int64 { return s.rejected.Load() }

func (s *BatchSender) settled() {
	s.settleMu.Lock()
	if s.waiters > 0 {
		close(s.settleCh)
		s.settleCh = make(chan struct{})
	}
	s.settleMu.Unlock()
}

// Flush waits until every message queued so far is acknowledged or failed, or ctx ends.
func (s *BatchSender) Flush(ctx context.Context) error {
	target := s.queued.Load()
	for {
		s.settleMu.Lock()
		if s.acked.Load()+s.failed.Load() >= target {
			s.settleMu.Unlock()
			return nil
		}
		s.waiters++
		ch := s.settleCh
		s.settleMu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		s.settleMu.Lock()
		s.waiters--
		s.settleMu.Unlock()
		if ctx.Err() != nil && s.acked.Load()+s.failed.Load() < target {
			return &TimeoutError{Msg: fmt.Sprintf("%d queued messages not settled before the context ended", target-s.acked.Load()-s.failed.Load()), Err: ctx.Err()}
		}
	}
}

// Close stops taking messages, sends what is queued and waits for it (until ctx ends), then
// closes the connections; whatever is still unsettled fails with a ConnectionError.
func (s *BatchSender) Close(ctx context.Context) error {
	var err error
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		err = s.Flush(ctx)
		for _, w := range s.workers {
			w.stop()
		}
		for _, w := range s.workers {
			w.cl.Close() // fails what still awaits an answer
		}
		for _, w := range s.workers {
			<-w.stopped
		}
	})
	return err
}

func (s *BatchSender) fail(entries []batchEntry, err error) {
	forget := 0
	for _, e := range entries {
		if e.result != nil {
			e.result.err = err
			close(e.result.done)
		} else {
			forget++
		}
	}
	// reported before they count as settled, so a Flush that returns has been preceded by the report
	if forget > 0 && s.opts.OnError != nil {
		s.opts.OnError(fmt.Errorf("wirebus: %d fire-and-forget messages to stream '%s' failed: %w", forget, entries[0].stream, err))
	}
	s.failed.Add(int64(len(entries)))
	s.settled()
}

// batchWorker owns one connection and one bounded queue.
type batchWorker struct {
	s        *BatchSender
	cl       *Client
	capacity int
	inflight chan struct{}
	producer string
	pseq     uint64

	records sync.Pool // *[][]byte for PUBLISH_BATCH frames

	mu       sync.Mutex
	items    []batchEntry
	free     [][]batchEntry // settled buffers to queue into again
	waiting  int
	stopping bool
	notEmpty chan struct{} // cap 1: wakes the worker
	space    chan struct{} // closed (and replaced) when the worker takes items and someone waits
	stopped  chan struct{}
}

func (w *batchWorker) push(ctx context.Context, e batchEntry) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		w.mu.Lock()
		if w.stopping {
			w.mu.Unlock()
			return &ConnectionError{Msg: "batch sender is closed", Err: ErrClosed}
		}
		if len(w.items) < w.capacity {
			w.items = append(w.items, e)
			wake := len(w.items) == 1
			w.mu.Unlock()
			if wake {
				select {
				case w.notEmpty <- struct{}{}:
				default:
				}
			}
			return nil
		}
		if w.s.opts.WhenFull == Reject {
			w.mu.Unlock()
			return fmt.Errorf("%w: %d messages queued for this stream's worker", ErrQueueFull, w.capacity)
		}
		w.waiting++
		sp := w.space
		w.mu.Unlock()
		var expired <-chan time.Time
		if _, ok := ctx.Deadline(); !ok {
			if timer == nil {
				timer = time.NewTimer(w.s.opts.BlockTimeout)
			}
			expired = timer.C
		}
		var err error
		select {
		case <-sp:
		case <-ctx.Done():
			err = fmt.Errorf("%w: no room before the context ended (%v)", ErrQueueFull, ctx.Err())
		case <-expired:
			err = fmt.Errorf("%w: no room within %v", ErrQueueFull, w.s.opts.BlockTimeout)
		}
		w.mu.Lock()
		w.waiting--
		w.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

func (w *batchWorker) stop() {
	w.mu.Lock()
	w.stopping = true
	w.mu.Unlock()
	select {
	case w.notEmpty <- struct{}{}:
	default:
	}
}

// take swaps the queue out (waiting for items), false once stopped and empty.
func (w *batchWorker) take() ([]batchEntry, bool) {
	for {
		w.mu.Lock()
		if len(w.items) > 0 {
			items := w.items
			if n := len(w.free); n > 0 {
				w.items = w.free[n-1]
				w.free[n-1] = nil
				w.free = w.free[:n-1]
			} else {
				w.items = nil
			}
			if w.waiting > 0 {
				close(w.space)
				w.space = make(chan struct{})
			}
			w.mu.Unlock()
			return items, true
		}
		if w.stopping {
			w.mu.Unlock()
			return nil, false
		}
		w.mu.Unlock()
		<-w.notEmpty
	}
}

// entryBuf is a taken queue buffer shared by the batches made from it; it goes back to the
// worker's free list once the last of them is settled, so a steady stream of messages reuses the
// same few buffers instead of making garbage.
type entryBuf struct {
	w     *batchWorker
	items []batchEntry
	refs  atomic.Int32
}

func (b *entryBuf) hold() { b.refs.Add(1) }

func (b *entryBuf) release() {
	if b.refs.Add(-1) == 0 {
		for i := range b.items {
			b.items[i] = batchEntry{}
		}
		b.w.recycle(b.items[:0])
	}
}

func (w *batchWorker) recycle(items []batchEntry) {
	w.mu.Lock()
	if len(w.free) < 4 {
		w.free = append(w.free, items)
	}
	w.mu.Unlock()
}

func (w *batchWorker) run() {
	defer close(w.stopped)
	for {
		items, ok := w.take()
		if !ok {
			return
		}
		buf := &entryBuf{w: w, items: items}
		buf.hold()
		w.sendAll(buf)
		buf.release()
	}
}

// sendAll sends the taken items as batches: grouped by stream in their order, split by size.
func (w *batchWorker) sendAll(buf *entryBuf) {
	o := w.s.opts
	items := buf.items
	same := true
	for i := 1; i < len(items); i++ {
		if items[i].stream != items[0].stream {
			same = false
			break
		}
	}
	groups := [][]batchEntry{items}
	shared := buf
	if !same {
		groups = nil
		shared = nil // the groups are copies
		index := map[string]int{}
		for _, e := range items {
			i, ok := index[e.stream]
			if !ok {
				i = len(groups)
				index[e.stream] = i
				groups = append(groups, nil)
			}
			groups[i] = append(groups[i], e)
		}
	}
	for _, g := range groups {
		for len(g) > 0 {
			n, bytes := 0, 0
			for n < len(g) && n < o.MaxBatchMessages {
				if n > 0 && bytes+len(g[n].payload) > o.MaxBatchBytes {
					break
				}
				bytes += len(g[n].payload) + 4
				n++
			}
			w.send(g[:n:n], shared)
			g = g[n:]
		}
	}
}

// send publishes one run of entries of one stream; buf (if any) is the buffer they live in,
// held until the run is settled.
func (w *batchWorker) send(run []batchEntry, buf *entryBuf) {
	o := w.s.opts
	select {
	case w.inflight <- struct{}{}:
	default:
		t := time.NewTimer(w.cl.opts.RequestTimeout)
		select {
		case w.inflight <- struct{}{}:
			t.Stop()
		case <-t.C:
			w.s.fail(run, &TimeoutError{Msg: fmt.Sprintf("no acknowledgement for %d batches within %v", o.MaxInFlightBatches, w.cl.opts.RequestTimeout)})
			return
		}
	}
	rp, _ := w.records.Get().(*[][]byte)
	if rp == nil {
		rp = new([][]byte)
	}
	records := (*rp)[:0]
	for _, e := range run {
		records = append(records, e.payload)
	}
	done := func() {
		for i := range records {
			records[i] = nil
		}
		*rp = records[:0]
		w.records.Put(rp)
		if buf != nil {
			buf.release()
		}
	}
	if buf != nil {
		buf.hold()
	}
	var opts []PublishOption
	if o.Idempotent {
		w.pseq++
		opts = append(opts, AsProducer(w.producer, w.pseq))
	}
	err := w.cl.PublishAsync(context.Background(), run[0].stream, records, func(ack PublishAck, err error) {
		<-w.inflight
		if err != nil {
			w.s.fail(run, err)
		} else {
			for i, e := range run {
				if e.result != nil {
					e.result.seq = ack.FirstSequence + uint64(i)
					close(e.result.done)
				}
			}
			w.s.acked.Add(int64(len(run)))
			w.s.settled()
		}
		done() // the call is over: its frame and records are not used again
	}, opts...)
	if err != nil {
		<-w.inflight
		var tl *FrameTooLargeError
		if errors.As(err, &tl) && len(run) > 1 {
			// the batch is above the broker's frame limit: send it in halves
			w.send(run[:len(run)/2], buf)
			w.send(run[len(run)/2:], buf)
		} else {
			w.s.fail(run, err)
		}
		done()
	}
}
