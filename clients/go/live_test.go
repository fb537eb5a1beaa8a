package wirebus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	wirebus "github.com/wirebus/wirebus-go"
	"github.com/wirebus/wirebus-go/internal/brokertest"
)

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// clientLog collects a client's reported errors and logs them when the test has failed (the
// client's goroutines report asynchronously, so they do not write to t themselves).
func clientLog(t *testing.T) func(error) {
	var mu sync.Mutex
	var lines []string
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if t.Failed() {
			for _, l := range lines {
				t.Log("client error: " + l)
			}
		}
	})
	return func(e error) {
		mu.Lock()
		lines = append(lines, time.Now().Format("15:04:05.000000 ")+e.Error())
		mu.Unlock()
	}
}

func dial(t *testing.T, addrs ...string) *wirebus.Client {
	t.Helper()
	c, err := wirebus.Dial(ctxT(t, 10*time.Second), wirebus.WithAddresses(addrs...), wirebus.WithName(t.Name()),
		wirebus.WithErrorHandler(clientLog(t)),
		wirebus.WithReconnect(wirebus.ReconnectPolicy{Initial: 5 * time.Millisecond, Max: 100 * time.Millisecond}))
	if err != nil {
		t.Fatalf("dial %v: %v", addrs, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func payload(i int) []byte { return []byte(fmt.Sprintf("m-%06d", i)) }

// takeN reads n messages and checks they are seq first..first+n-1 with payload(seq-offset).
func takeN(t *testing.T, ctx context.Context, s *wirebus.Subscription, first uint64, n int, onEach func(i int)) {
	t.Helper()
	for i := 0; i < n; i++ {
		m, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("message %d of %d: %v", i+1, n, err)
		}
		want := first + uint64(i)
		if m.Sequence != want {
			t.Fatalf("got sequence %d, want %d (gap or duplicate)", m.Sequence, want)
		}
		if !bytes.Equal(m.Payload, payload(int(want))) {
			t.Fatalf("sequence %d: payload %q, want %q", want, m.Payload, payload(int(want)))
		}
		if onEach != nil {
			onEach(i)
		}
	}
}

func TestLivePublishSubscribeFetch(t *testing.T) {
	b := brokertest.Start(t, brokertest.Jar(t), "")
	c := dial(t, b.TCP)
	ctx := ctxT(t, 30*time.Second)
	if v := c.ProtocolVersion(); v < 1 || v > 2 {
		t.Fatalf("negotiated version %d", v)
	}
	for i := 1; i <= 50; i++ {
		ack, err := c.Publish(ctx, "ps", payload(i))
		if err != nil {
			t.Fatal(err)
		}
		if ack.FirstSequence != uint64(i) || ack.Count != 1 {
			t.Fatalf("ack %+v for message %d", ack, i)
		}
	}
	ack, err := c.PublishBatch(ctx, "ps", [][]byte{payload(51), payload(52), payload(53)}, wirebus.ExpectSequence(51))
	if err != nil || ack.FirstSequence != 51 || ack.Count != 3 {
		t.Fatalf("batch: %+v %v", ack, err)
	}
	s, err := c.Subscribe(ctx, "ps", wirebus.SubscribeOptions{Start: wirebus.Earliest, Window: 8})
	if err != nil {
		t.Fatal(err)
	}
	if s.StartSequence() != 1 {
		t.Fatalf("start %d", s.StartSequence())
	}
	takeN(t, ctx, s, 1, 53, nil)
	// live messages after history, through the same cursor
	for i := 54; i <= 60; i++ {
		if _, err := c.Publish(ctx, "ps", payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	takeN(t, ctx, s, 54, 7, nil)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(ctx); !errors.Is(err, wirebus.ErrSubscriptionClosed) {
		t.Fatalf("after close: %v", err)
	}
	latest, err := c.Subscribe(ctx, "ps", wirebus.SubscribeOptions{Start: wirebus.Latest})
	if err != nil || latest.StartSequence() != 61 {
		t.Fatalf("latest: %v %v", latest, err)
	}
	from, err := c.Subscribe(ctx, "ps", wirebus.SubscribeOptions{Start: wirebus.FromSequence(58)})
	if err != nil {
		t.Fatal(err)
	}
	want := uint64(58)
	for m := range from.Messages(ctx) {
		if m.Sequence != want || !bytes.Equal(m.Payload, payload(int(want))) {
			t.Fatalf("channel gave %d, want %d", m.Sequence, want)
		}
		if want++; want == 61 {
			from.Close(ctx) // the channel closes
		}
	}
	if want != 61 || !errors.Is(from.Err(), wirebus.ErrSubscriptionClosed) {
		t.Fatalf("channel ended at %d: %v", want, from.Err())
	}
	page, err := c.Fetch(ctx, "ps", 10, 5)
	if err != nil || page.LastSequence != 60 || len(page.Messages) != 5 || page.Messages[0].Sequence != 10 || !bytes.Equal(page.Messages[4].Payload, payload(14)) {
		t.Fatalf("fetch: %+v %v", page, err)
	}
	empty, err := c.Fetch(ctx, "ps", 61, 5)
	if err != nil || len(empty.Messages) != 0 {
		t.Fatalf("fetch at the end: %+v %v", empty, err)
	}
}

// TestLiveNoGapNoDupAcrossCuts: a subscriber (small credit window) and a durable consumer read
// 3000 messages while a proxy cuts their connections four times; each sees every sequence once,
// in order.
func TestLiveNoGapNoDupAcrossCuts(t *testing.T) {
	b := brokertest.Start(t, brokertest.Jar(t), "")
	p := brokertest.NewProxy(t, b.HostPort())
	direct := dial(t, b.TCP)
	c := dial(t, p.Addr())
	ctx := ctxT(t, 60*time.Second)
	const n = 3000
	for i := 1; i <= n; i += 100 {
		batch := make([][]byte, 100)
		for k := range batch {
			batch[k] = payload(i + k)
		}
		if _, err := direct.PublishBatch(ctx, "cut", batch); err != nil {
			t.Fatal(err)
		}
	}
	sub, err := c.Subscribe(ctx, "cut", wirebus.SubscribeOptions{Start: wirebus.Earliest, Window: 64})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := c.Subscribe(ctx, "cut", wirebus.SubscribeOptions{Start: wirebus.Earliest, Window: 50, Consumer: "reader", AckMode: wirebus.AckManual})
	if err != nil {
		t.Fatal(err)
	}
	cuts := 0
	takeN(t, ctx, sub, 1, n, func(i int) {
		if i%700 == 350 {
			if p.Cut() > 0 {
				cuts++
			}
		}
	})
	takeN(t, ctx, cons, 1, n, func(i int) {
		if i%10 == 9 {
			cons.AckNoWait(uint64(i + 1))
		}
		if i%1000 == 500 {
			p.Cut()
		}
	})
	if cuts < 4 {
		t.Fatalf("only %d cuts hit a connection", cuts)
	}
	// nothing more is buffered: no duplicate after the last message either
	if got := sub.Buffered(); got != 0 {
		t.Fatalf("%d messages beyond the last", got)
	}
	if err := cons.Ack(ctx, n); err != nil {
		t.Fatal(err)
	}
	info, err := direct.Consumers(ctx, "cut")
	if err != nil || len(info.Consumers) != 1 || info.Consumers[0].AckedSequence != n || info.Consumers[0].Lag != 0 {
		t.Fatalf("consumers: %+v %v", info, err)
	}
}

// TestLiveIdempotentResend: the proxy swallows the broker's acks, the batches are appended, the
// connection is cut; the client resends them after reconnecting and gets DUPLICATE acks with the
// original sequences: each batch is in the stream exactly once.
func TestLiveIdempotentResend(t *testing.T) {
	b := brokertest.Start(t, brokertest.Jar(t), "")
	p := brokertest.NewProxy(t, b.HostPort())
	direct := dial(t, b.TCP)
	c := dial(t, p.Addr())
	ctx := ctxT(t, 60*time.Second)
	watch, err := direct.Subscribe(ctx, "idem", wirebus.SubscribeOptions{Start: wirebus.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	p.Mute(true)
	const batches = 20
	type result struct {
		ack wirebus.PublishAck
		err error
	}
	results := make(chan result, batches)
	for i := 0; i < batches; i++ {
		recs := [][]byte{payload(2*i + 1), payload(2*i + 2)}
		if err := c.PublishAsync(ctx, "idem", recs, func(a wirebus.PublishAck, err error) { results <- result{a, err} },
			wirebus.AsProducer("ingest-1", uint64(100+i))); err != nil {
			t.Fatal(err)
		}
	}
	// the broker appended them all (seen by another client), but no ack came through
	takeN(t, ctx, watch, 1, 2*batches, nil)
	select {
	case r := <-results:
		t.Fatalf("an ack passed the muted proxy: %+v", r)
	default:
	}
	p.Mute(false)
	p.Cut()
	for i := 0; i < batches; i++ {
		r := <-results
		if r.err != nil {
			t.Fatalf("batch failed: %v", r.err)
		}
		if !r.ack.Duplicate || r.ack.Count != 2 || r.ack.FirstSequence%2 != 1 {
			t.Fatalf("resent batch acked %+v, want a DUPLICATE of its first append", r.ack)
		}
	}
	page, err := direct.Fetch(ctx, "idem", 1, 1000)
	if err != nil || page.LastSequence != 2*batches || len(page.Messages) != 2*batches {
		t.Fatalf("stream holds %d messages (last %d), want %d: %v", len(page.Messages), page.LastSequence, 2*batches, err)
	}
	// a plain (non-idempotent) publish cut before its ack fails with a ConnectionError, never silently
	p.Mute(true)
	done := make(chan error, 1)
	if err := c.PublishAsync(ctx, "idem", [][]byte{[]byte("x")}, func(_ wirebus.PublishAck, err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	takeN(t, ctx, watch, 2*batches+1, 0, nil)
	m, err := watch.Next(ctx)
	if err != nil || m.Sequence != 2*batches+1 {
		t.Fatalf("plain publish not appended: %v %v", m, err)
	}
	p.Mute(false)
	p.Cut()
	if err := <-done; !errors.Is(err, wirebus.ErrConnection) {
		t.Fatalf("plain publish cut before its ack: %v, want a ConnectionError", err)
	}
	// Producer numbers batches itself
	prod := c.Producer("ingest-2")
	a1, err := prod.Publish(ctx, "idem", []byte("p1"))
	if err != nil || a1.Duplicate {
		t.Fatalf("producer: %+v %v", a1, err)
	}
}

// TestLiveDurableConsumerGating: a consumer with maxLag 5 and explicit acks holds the sixth
// publish until it acknowledges; after a reconnect it resumes after what it received.
func TestLiveDurableConsumerGating(t *testing.T) {
	b := brokertest.Start(t, brokertest.Jar(t), "")
	p := brokertest.NewProxy(t, b.HostPort())
	pub := dial(t, b.TCP)
	c := dial(t, p.Addr())
	ctx := ctxT(t, 60*time.Second)
	cons, err := c.Subscribe(ctx, "gated", wirebus.SubscribeOptions{Start: wirebus.Earliest, Consumer: "exec", AckMode: wirebus.AckManual, MaxLag: 5})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if _, err := pub.Publish(ctx, "gated", payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	held := make(chan error, 1)
	var heldAck wirebus.PublishAck
	if err := pub.PublishAsync(ctx, "gated", [][]byte{payload(6)}, func(a wirebus.PublishAck, err error) { heldAck = a; held <- err }); err != nil {
		t.Fatal(err)
	}
	// wait (bounded) until the broker reports the publish held by the gate
	for {
		info, err := pub.Consumers(ctx, "gated")
		if err != nil {
			t.Fatal(err)
		}
		if info.HeldPublishes == 1 {
			if len(info.Consumers) != 1 || info.Consumers[0].Name != "exec" || info.Consumers[0].MaxLag != 5 || !info.Consumers[0].Connected {
				t.Fatalf("consumers: %+v", info)
			}
			break
		}
		select {
		case err := <-held:
			t.Fatalf("publish beyond maxLag answered before any ack: %v", err)
		case <-ctx.Done():
			t.Fatal("publish never held")
		default:
		}
	}
	takeN(t, ctx, cons, 1, 1, nil)
	if err := cons.Ack(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := <-held; err != nil || heldAck.FirstSequence != 6 {
		t.Fatalf("held publish: %+v %v", heldAck, err)
	}
	takeN(t, ctx, cons, 2, 3, nil) // received up to 4, acked 1
	p.Cut()
	takeN(t, ctx, cons, 5, 2, nil) // resumes at 5: no repeat of 2..4, no gap
	if err := cons.Ack(ctx, 6); err != nil {
		t.Fatal(err)
	}
	// a new CONSUME (without resume) starts after the acknowledged position
	if err := cons.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx, "gated", payload(7)); err != nil {
		t.Fatal(err)
	}
	again, err := c.Subscribe(ctx, "gated", wirebus.SubscribeOptions{Start: wirebus.Earliest, Consumer: "exec", AckMode: wirebus.AckManual, MaxLag: 5})
	if err != nil || again.StartSequence() != 7 {
		t.Fatalf("re-consume: %v %v", again, err)
	}
	takeN(t, ctx, again, 7, 1, nil)
}

func TestLiveRequestRespond(t *testing.T) {
	b := brokertest.Start(t, brokertest.Jar(t), "")
	p := brokertest.NewProxy(t, b.HostPort())
	responder := dial(t, p.Addr())
	requester := dial(t, b.TCP)
	ctx := ctxT(t, 60*time.Second)
	_, err := requester.Request(ctx, "state.epoch", nil)
	var we *wirebus.WireError
	if !errors.As(err, &we) || we.Code != wirebus.CodeNoResponders {
		t.Fatalf("no responder: %v", err)
	}
	r, err := responder.Respond(ctx, "state.epoch", func(ctx context.Context, req wirebus.Request) ([]byte, error) {
		if string(req.Payload) == "fail" {
			return nil, errors.New("database unavailable")
		}
		return append([]byte("epoch:"), req.Payload...), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := requester.Request(ctx, "state.epoch", []byte("7"))
	if err != nil || string(got) != "epoch:7" {
		t.Fatalf("request: %q %v", got, err)
	}
	_, err = requester.Request(ctx, "state.epoch", []byte("fail"))
	if !errors.As(err, &we) || we.Code != wirebus.CodeResponderFailed {
		t.Fatalf("failing handler: %v", err)
	}
	if _, err := responder.Respond(ctx, "state.epoch", nil); err == nil {
		t.Fatal("second responder on one subject accepted")
	}
	// a handler slower than the deadline: the broker answers TIMEOUT, which is a deadline error
	slow, err := responder.Respond(ctx, "slow", func(ctx context.Context, req wirebus.Request) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = requester.RequestTimeout(ctx, "slow", nil, 200*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow responder: %v", err)
	}
	if err := slow.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// the responder's connection is cut: it registers again by itself
	p.Cut()
	for {
		got, err := requester.Request(ctx, "state.epoch", []byte("8"))
		if err == nil {
			if string(got) != "epoch:8" {
				t.Fatalf("after reconnect: %q", got)
			}
			break
		}
		if !errors.As(err, &we) || (we.Code != wirebus.CodeNoResponders && we.Code != wirebus.CodeResponderGone) {
			t.Fatalf("after cut: %v", err)
		}
		if ctx.Err() != nil {
			t.Fatal("responder never came back")
		}
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLiveTypedErrors(t *testing.T) {
	b := brokertest.Start(t, brokertest.Jar(t), "", "--retention-messages", "10")
	c := dial(t, b.TCP)
	ctx := ctxT(t, 30*time.Second)
	v2 := c.ProtocolVersion() == 2
	for i := 1; i <= 40; i++ {
		if _, err := c.Publish(ctx, "typed", payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.Publish(ctx, "typed", []byte("x"), wirebus.ExpectSequence(45))
	var sm *wirebus.SequenceMismatchError
	if !errors.As(err, &sm) || !sm.Known || sm.LastSequence != 40 {
		t.Fatalf("expected sequence 45 on a stream at 40: %#v", err)
	}
	if v2 {
		if v, ok := sm.Fields.Get(wirebus.FieldLastSequence); !ok || v != 40 {
			t.Fatalf("v2 broker sent no lastSequence field: %+v", sm.Fields)
		}
	}
	var we *wirebus.WireError
	if !errors.As(err, &we) || we.Code != wirebus.CodeSequenceMismatch {
		t.Fatalf("not a WireError: %v", err)
	}
	_, err = c.Fetch(ctx, "typed", 1, 10)
	var nr *wirebus.SequenceNotRetainedError
	if !errors.As(err, &nr) {
		t.Fatalf("fetch below retention: %v", err)
	}
	if v2 && (!nr.Known || nr.FirstRetainedSequence < 2) {
		t.Fatalf("firstRetainedSequence: %+v", nr)
	}
	if _, err := c.Subscribe(ctx, "typed", wirebus.SubscribeOptions{Start: wirebus.FromSequence(1)}); !errors.As(err, &nr) {
		t.Fatalf("subscribe below retention: %v", err)
	}
	if _, err := c.Publish(ctx, "typed", []byte("a"), wirebus.AsProducer("p", 5)); err != nil {
		t.Fatal(err)
	}
	_, err = c.Publish(ctx, "typed", []byte("b"), wirebus.AsProducer("p", 3))
	var ps *wirebus.ProducerSequenceError
	if !errors.As(err, &ps) {
		t.Fatalf("producer sequence below the last: %v", err)
	}
	if v2 && (!ps.Known || ps.LastProducerSequence != 5) {
		t.Fatalf("lastProducerSequence: %+v", ps)
	}
	_, err = c.Publish(ctx, "bad name!", []byte("x"))
	if !errors.As(err, &we) || we.Code != wirebus.CodeInvalidArgument {
		t.Fatalf("invalid stream name: %v", err)
	}
	// a local deadline is a TimeoutError and context.DeadlineExceeded
	short, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	<-short.Done()
	_, err = c.Publish(short, "typed", []byte("late"))
	var te *wirebus.TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired context: %v", err)
	}
}

// TestLiveGoAwayAndAddresses: two brokers; the client is on A; A shuts down (GOAWAY), the client
// moves to B by itself and a publish made meanwhile goes there.
func TestLiveGoAwayAndAddresses(t *testing.T) {
	jar := brokertest.Jar(t)
	dir := filepath.Join(os.TempDir(), "h-go")
	os.MkdirAll(dir, 0o700)
	sock := filepath.Join(dir, fmt.Sprintf("goaway-%d.sock", os.Getpid()))
	a := brokertest.Start(t, jar, sock)
	bb := brokertest.Start(t, jar, "")
	goaway := make(chan error, 1)
	c, err := wirebus.Dial(ctxT(t, 10*time.Second), wirebus.WithAddresses(a.UDS, bb.TCP),
		wirebus.WithReconnect(wirebus.ReconnectPolicy{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond}),
		wirebus.WithErrorHandler(func(e error) {
			if strings.Contains(e.Error(), "going away") {
				select {
				case goaway <- e:
				default:
				}
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := ctxT(t, 60*time.Second)
	if _, err := c.Publish(ctx, "g", []byte("on a")); err != nil {
		t.Fatal(err)
	}
	a.Stop()
	select {
	case <-goaway: // the client heard GOAWAY: it sends nothing new to A
	case <-ctx.Done():
		t.Fatal("no GOAWAY reported")
	}
	ack, err := c.Publish(ctx, "g", []byte("on b"))
	if err != nil || ack.FirstSequence != 1 {
		t.Fatalf("publish after A went away: %+v %v", ack, err)
	}
	if c.Address() != bb.TCP {
		t.Fatalf("client on %s, want %s", c.Address(), bb.TCP)
	}
}

// TestLiveStoreChanged: the broker behind the proxy is replaced by a fresh in-memory one; the
// subscription ends with a StoreChangedError instead of resuming by sequence.
func TestLiveStoreChanged(t *testing.T) {
	jar := brokertest.Jar(t)
	a := brokertest.Start(t, jar, "")
	p := brokertest.NewProxy(t, a.HostPort())
	c := dial(t, p.Addr())
	ctx := ctxT(t, 60*time.Second)
	if _, err := c.Publish(ctx, "sc", payload(1)); err != nil {
		t.Fatal(err)
	}
	s, err := c.Subscribe(ctx, "sc", wirebus.SubscribeOptions{Start: wirebus.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	takeN(t, ctx, s, 1, 1, nil)
	b := brokertest.Start(t, jar, "")
	p.SetTarget(b.HostPort())
	p.Cut()
	_, err = s.Next(ctx)
	var sc *wirebus.StoreChangedError
	if !errors.As(err, &sc) || sc.OldStoreID == sc.NewStoreID {
		t.Fatalf("after the store changed: %v", err)
	}
}
