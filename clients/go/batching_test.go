package wirebus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	wirebus "github.com/wirebus/wirebus-go"
	"github.com/wirebus/wirebus-go/internal/brokertest"
)

func newSender(t *testing.T, o wirebus.BatchOptions) *wirebus.BatchSender {
	t.Helper()
	s, err := wirebus.NewBatchSender(ctxT(t, 10*time.Second), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

// TestBatchSenderOrderAndResults: 4 workers, 6 streams, per-message results; every stream holds
// its messages in the order they were queued, and each result names the right sequence.
func TestBatchSenderOrderAndResults(t *testing.T) {
	b := brokertest.Start(t, brokertest.Jar(t), "")
	s := newSender(t, wirebus.BatchOptions{Client: wirebus.Options{Addresses: []string{b.TCP}}, Workers: 4, QueueCapacity: 1024, MaxBatchMessages: 100})
	ctx := ctxT(t, 60*time.Second)
	const perStream = 3000
	streams := []string{"tx.a", "tx.b", "tx.c", "tx.d", "tx.e", "tx.f"}
	results := map[string][]*wirebus.PublishResult{}
	for i := 0; i < perStream; i++ {
		for _, st := range streams {
			r, err := s.Publish(ctx, st, []byte(fmt.Sprintf("%s-%d", st, i)))
			if err != nil {
				t.Fatal(err)
			}
			results[st] = append(results[st], r)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	c := dial(t, b.TCP)
	for _, st := range streams {
		for i, r := range results[st] {
			seq, err := r.Wait(ctx)
			if err != nil || seq != uint64(i+1) {
				t.Fatalf("%s message %d: sequence %d, %v", st, i, seq, err)
			}
		}
		var got [][]byte
		for from := uint64(1); from <= perStream; {
			page, err := c.Fetch(ctx, st, from, 10000)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page.Messages {
				got = append(got, m.Payload)
			}
			from += uint64(len(page.Messages))
			if len(page.Messages) == 0 {
				break
			}
		}
		if len(got) != perStream {
			t.Fatalf("%s holds %d messages, want %d", st, len(got), perStream)
		}
		for i, p := range got {
			if !bytes.Equal(p, []byte(fmt.Sprintf("%s-%d", st, i))) {
				t.Fatalf("%s sequence %d holds %q", st, i+1, p)
			}
		}
	}
	if s.AckedCount() != int64(perStream*len(streams)) || s.FailedCount() != 0 {
		t.Fatalf("acked %d failed %d", s.AckedCount(), s.FailedCount())
	}
}

// TestBatchSenderFullQueue: a gating consumer that does not ack holds the sender's batches at the
// broker, the bounded queue fills, and the sender refuses (Reject) or gives up by the deadline
// (Block) with ErrQueueFull; once the consumer acks, everything queued is acknowledged.
func TestBatchSenderFullQueue(t *testing.T) {
	b := brokertest.Start(t, brokertest.Jar(t), "")
	c := dial(t, b.TCP)
	ctx := ctxT(t, 60*time.Second)
	cons, err := c.Subscribe(ctx, "full", wirebus.SubscribeOptions{Start: wirebus.Earliest, Consumer: "slow", AckMode: wirebus.AckManual, MaxLag: 1})
	if err != nil {
		t.Fatal(err)
	}
	base := uint64(0) // messages in the stream, all acknowledged by the consumer
	for _, mode := range []wirebus.WhenFull{wirebus.Reject, wirebus.Block} {
		s := newSender(t, wirebus.BatchOptions{Client: wirebus.Options{Addresses: []string{b.TCP}}, QueueCapacity: 1,
			MaxBatchMessages: 1, MaxInFlightBatches: 1, WhenFull: mode})
		full := false
		queued := 0
		for i := 0; i < 10 && !full; i++ {
			sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			err := s.Send(sctx, "full", []byte("x"))
			cancel()
			switch {
			case err == nil:
				queued++
			case errors.Is(err, wirebus.ErrQueueFull):
				full = true
			default:
				t.Fatal(err)
			}
		}
		if !full {
			t.Fatalf("mode %v: 10 messages queued behind a held publish, the queue is not bounded", mode)
		}
		if s.RejectedCount() != 1 {
			t.Fatalf("rejected %d", s.RejectedCount())
		}
		// the consumer catches up: every queued message is appended, then acknowledged to the sender
		for cons.LastSequence() < base+uint64(queued) {
			m, err := cons.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := cons.Ack(ctx, m.Sequence); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Flush(ctx); err != nil || s.FailedCount() != 0 || s.AckedCount() != int64(queued) {
			t.Fatalf("flush: %v, acked %d of %d, failed %d", err, s.AckedCount(), queued, s.FailedCount())
		}
		base += uint64(queued)
	}
}

// TestBatchSenderIdempotentAcrossCuts: an idempotent sender through a proxy that cuts its
// connections; every message is appended exactly once, in order.
func TestBatchSenderIdempotentAcrossCuts(t *testing.T) {
	b := brokertest.Start(t, brokertest.Jar(t), "")
	p := brokertest.NewProxy(t, b.HostPort())
	s := newSender(t, wirebus.BatchOptions{Client: wirebus.Options{Addresses: []string{p.Addr()},
		Reconnect: wirebus.ReconnectPolicy{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond}, OnError: clientLog(t)},
		Idempotent: true, MaxBatchMessages: 50, QueueCapacity: 500})
	ctx := ctxT(t, 60*time.Second)
	const n = 20000
	results := make([]*wirebus.PublishResult, n)
	pushed := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			r, err := s.Publish(ctx, "idem.batch", payload(i+1))
			if err != nil {
				pushed <- err
				return
			}
			results[i] = r
		}
		pushed <- nil
	}()
	c := dial(t, b.TCP)
	for _, at := range []int64{n / 4, n / 2} {
		// once a quarter (a half) is acknowledged, the proxy swallows the acks until the broker
		// has appended batches the sender has no ack for; then the connection is cut
		for s.AckedCount() < at {
			if _, err := c.Consumers(ctx, "idem.batch"); err != nil {
				t.Fatal(err)
			}
		}
		p.Mute(true)
		for {
			info, err := c.Consumers(ctx, "idem.batch")
			if err != nil {
				t.Fatal(err)
			}
			if int64(info.LastSequence) >= s.AckedCount()+100 {
				break
			}
		}
		p.Mute(false)
		if p.Cut() == 0 {
			t.Fatal("nothing to cut")
		}
	}
	if err := <-pushed; err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		seq, err := r.Wait(ctx)
		if err != nil || seq != uint64(i+1) {
			t.Fatalf("message %d: %d %v", i+1, seq, err)
		}
	}
	sub, err := c.Subscribe(ctx, "idem.batch", wirebus.SubscribeOptions{Start: wirebus.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	takeN(t, ctx, sub, 1, n, nil)
	info, err := c.Consumers(ctx, "idem.batch")
	if err != nil || info.LastSequence != n {
		t.Fatalf("stream at %d, want %d (%v)", info.LastSequence, n, err)
	}
}

// TestBatchSenderFailuresAreVisible: the broker dies and the sender gives up reconnecting: every
// queued fire-and-forget message is counted failed and reported, none vanishes.
func TestBatchSenderFailuresAreVisible(t *testing.T) {
	b := brokertest.Start(t, brokertest.Jar(t), "")
	reported := make(chan error, 100)
	s := newSender(t, wirebus.BatchOptions{Client: wirebus.Options{Addresses: []string{b.TCP}, RequestTimeout: 2 * time.Second,
		Reconnect: wirebus.ReconnectPolicy{Initial: 5 * time.Millisecond, Max: 10 * time.Millisecond, MaxAttempts: 2}},
		OnError: func(err error) { reported <- err }})
	ctx := ctxT(t, 30*time.Second)
	if err := s.Send(ctx, "gone", []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil || s.AckedCount() != 1 {
		t.Fatalf("first: %v, acked %d", err, s.AckedCount())
	}
	b.Kill()
	for i := 0; i < 10; i++ {
		if err := s.Send(ctx, "gone", []byte("lost")); err != nil && !errors.Is(err, wirebus.ErrConnection) {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if s.AckedCount()+s.FailedCount()+s.RejectedCount() != 11 || s.FailedCount() == 0 && s.RejectedCount() == 0 {
		t.Fatalf("acked %d failed %d rejected %d", s.AckedCount(), s.FailedCount(), s.RejectedCount())
	}
	if s.FailedCount() > 0 {
		select {
		case err := <-reported:
			if !errors.Is(err, wirebus.ErrConnection) && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("reported %v", err)
			}
		default:
			t.Fatal("failed fire-and-forget messages were not reported")
		}
	}
}
