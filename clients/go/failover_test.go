package wirebus_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	wirebus "github.com/wirebus/wirebus-go"
	"github.com/wirebus/wirebus-go/internal/brokertest"
)

// Failover between brokers (issue 15 item 5). With the in-memory store two brokers share no
// streams, so TestFailoverKilledNode shows the connection, responder and publish side of failover
// (subscriptions end with StoreChanged rather than resuming by sequence on another history).
// TestFailoverSharedStoreResumes shows resume by sequence and the idempotent resend across two
// addresses: the second broker takes over the first one's data directory (a standby on shared
// storage), so it has the same storeId, streams, consumers and producer state. Shared-stream
// failover between live nodes comes with the Redis store.

// TestFailoverKilledNode: the first address is dead, the client connects to A; A is killed
// (SIGKILL: no GOAWAY); the client continues on B: publishes go there, its responder is
// registered there again, new subscriptions work, and the old subscription ends with a typed
// StoreChangedError (B's history is not A's).
func TestFailoverKilledNode(t *testing.T) {
	jar := brokertest.Jar(t)
	dead := "tcp://" + brokertest.FreeHostPort(t)
	a := brokertest.Start(t, jar, "")
	b := brokertest.Start(t, jar, "")
	c := dial(t, dead, a.TCP, b.TCP)
	ctx := ctxT(t, 60*time.Second)
	if c.Address() != a.TCP {
		t.Fatalf("connected to %s, want %s (the first live address)", c.Address(), a.TCP)
	}
	if _, err := c.Respond(ctx, "fo.echo", func(_ context.Context, r wirebus.Request) ([]byte, error) {
		return append([]byte("echo:"), r.Payload...), nil
	}); err != nil {
		t.Fatal(err)
	}
	s, err := c.Subscribe(ctx, "fo", wirebus.SubscribeOptions{Start: wirebus.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := c.Publish(ctx, "fo", payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	takeN(t, ctx, s, 1, 3, nil)

	a.Kill()

	_, err = s.Next(ctx)
	var sc *wirebus.StoreChangedError
	if !errors.As(err, &sc) {
		t.Fatalf("subscription after failover to another store: %v, want a StoreChangedError", err)
	}
	ack, err := c.Publish(ctx, "fo", payload(1))
	if err != nil || ack.FirstSequence != 1 {
		t.Fatalf("publish after failover: %+v %v (want sequence 1 on B's fresh store)", ack, err)
	}
	if c.Address() != b.TCP {
		t.Fatalf("client on %s after A died, want %s", c.Address(), b.TCP)
	}
	other := dial(t, b.TCP)
	reply, err := other.Request(ctx, "fo.echo", []byte("x"))
	if err != nil || string(reply) != "echo:x" {
		t.Fatalf("request to the failed-over responder on B: %q %v", reply, err)
	}
	s2, err := c.Subscribe(ctx, "fo", wirebus.SubscribeOptions{Start: wirebus.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	takeN(t, ctx, s2, 1, 1, nil)
}

// TestFailoverSharedStoreResumes: A (disk store in dir D) is behind a proxy that swallows its
// answers at the end; the second address is dead until B starts on D after A is killed. The
// client fails over to B and: the subscription resumes at the next sequence (no gap, no
// duplicate), the durable consumer resumes after what it received, and the idempotent batch
// whose ack A never delivered is resent and acknowledged as a DUPLICATE of its first append.
func TestFailoverSharedStoreResumes(t *testing.T) {
	jar := brokertest.Jar(t)
	dir := t.TempDir()
	bAddr := brokertest.FreeHostPort(t)
	a := brokertest.StartServe(t, jar, "--store", "disk", "--data", dir, "--no-uds", "--tcp", "127.0.0.1:0")
	p := brokertest.NewProxy(t, a.HostPort())
	c := dial(t, p.Addr(), "tcp://"+bAddr)
	ctx := ctxT(t, 60*time.Second)

	s, err := c.Subscribe(ctx, "fs", wirebus.SubscribeOptions{Start: wirebus.Earliest, Window: 8})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := c.Subscribe(ctx, "fs", wirebus.SubscribeOptions{Start: wirebus.Earliest, Consumer: "exec", AckMode: wirebus.AckManual})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		if ack, err := c.Publish(ctx, "fs", payload(i), wirebus.AsProducer("ingest-fo", uint64(i))); err != nil || ack.FirstSequence != uint64(i) {
			t.Fatalf("publish %d: %+v %v", i, ack, err)
		}
	}
	takeN(t, ctx, s, 1, 10, nil)
	takeN(t, ctx, cons, 1, 10, nil)
	if err := cons.Ack(ctx, 10); err != nil {
		t.Fatal(err)
	}

	// A appends the next batch but its answer never reaches the client
	direct := dial(t, a.TCP)
	watch, err := direct.Subscribe(ctx, "fs", wirebus.SubscribeOptions{Start: wirebus.FromSequence(11)})
	if err != nil {
		t.Fatal(err)
	}
	p.Mute(true)
	type result struct {
		ack wirebus.PublishAck
		err error
	}
	res := make(chan result, 1)
	if err := c.PublishAsync(ctx, "fs", [][]byte{payload(11), payload(12)}, func(a wirebus.PublishAck, err error) { res <- result{a, err} },
		wirebus.AsProducer("ingest-fo", 11)); err != nil {
		t.Fatal(err)
	}
	takeN(t, ctx, watch, 11, 2, nil)
	select {
	case r := <-res:
		t.Fatalf("an ack passed the muted proxy: %+v", r)
	default:
	}
	direct.Close()

	a.Kill()
	brokertest.StartServe(t, jar, "--store", "disk", "--data", dir, "--no-uds", "--tcp", bAddr)

	r := <-res
	if r.err != nil || !r.ack.Duplicate || r.ack.FirstSequence != 11 || r.ack.Count != 2 {
		t.Fatalf("idempotent batch resent to B: %+v %v, want a DUPLICATE at 11", r.ack, r.err)
	}
	if c.Address() != "tcp://"+bAddr {
		t.Fatalf("client on %s, want B at tcp://%s", c.Address(), bAddr)
	}
	ack, err := c.Publish(ctx, "fs", payload(13), wirebus.AsProducer("ingest-fo", 12))
	if err != nil || ack.FirstSequence != 13 || ack.Duplicate {
		t.Fatalf("publish on B: %+v %v", ack, err)
	}
	takeN(t, ctx, s, 11, 3, nil)
	takeN(t, ctx, cons, 11, 3, nil)
	page, err := c.Fetch(ctx, "fs", 1, 100)
	if err != nil || page.LastSequence != 13 || len(page.Messages) != 13 {
		t.Fatalf("stream on B: last %d, %d messages, %v", page.LastSequence, len(page.Messages), err)
	}
	for i, m := range page.Messages {
		if !bytes.Equal(m.Payload, payload(i+1)) {
			t.Fatalf("sequence %d holds %q", m.Sequence, m.Payload)
		}
	}
}
