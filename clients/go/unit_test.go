package wirebus

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func TestParseAddress(t *testing.T) {
	for _, c := range []struct{ in, network, addr string }{
		{"unix:///tmp/x.sock", "unix", "/tmp/x.sock"},
		{"tcp://127.0.0.1:7440", "tcp", "127.0.0.1:7440"},
		{"tcp://[::1]:7440", "tcp", "[::1]:7440"},
		{"/run/wirebus.sock", "unix", "/run/wirebus.sock"},
	} {
		n, a, err := ParseAddress(c.in)
		if err != nil || n != c.network || a != c.addr {
			t.Errorf("%s: %s %s %v", c.in, n, a, err)
		}
	}
	for _, bad := range []string{"", "unix://", "tcp://host", "http://x:1"} {
		if _, _, err := ParseAddress(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestReconnectDelayCappedWithJitter(t *testing.T) {
	p := ReconnectPolicy{Initial: 20 * time.Millisecond, Max: 2 * time.Second}
	for i := 0; i < 100; i++ {
		if d := p.Delay(1); d < 16*time.Millisecond || d > 24*time.Millisecond {
			t.Fatalf("first delay %v", d)
		}
		if d := p.Delay(3); d < 64*time.Millisecond || d > 96*time.Millisecond {
			t.Fatalf("third delay %v", d)
		}
		if d := p.Delay(40); d < 1600*time.Millisecond || d > 2400*time.Millisecond {
			t.Fatalf("capped delay %v", d)
		}
	}
}

func TestCallTableLostKeepsResendableInOrder(t *testing.T) {
	a, b := &conn{}, &conn{}
	tab := newCallTable()
	plain := &call{id: 2, conn: a}
	idem7 := &call{id: 7, conn: a, resendable: true}
	idem3 := &call{id: 3, conn: a, resendable: true}
	other := &call{id: 4, conn: b}
	pending := &call{id: 5}
	for _, c := range []*call{plain, idem7, idem3, other, pending} {
		tab.add(c)
	}
	tab.pending = []*call{pending}
	failed := tab.lost(a, true)
	if len(failed) != 1 || failed[0] != plain {
		t.Fatalf("failed %v", failed)
	}
	if len(tab.pending) != 3 || tab.pending[0] != idem3 || tab.pending[1] != pending || tab.pending[2] != idem7 {
		t.Fatalf("pending order %v %v %v", tab.pending[0].id, tab.pending[1].id, tab.pending[2].id)
	}
	if tab.byID[4] != other || tab.byID[2] != nil {
		t.Fatal("other connection's call touched, or the lost one kept")
	}
	if c := tab.take(5); c != pending || len(tab.pending) != 2 {
		t.Fatal("take of a pending call")
	}
	if failed := tab.lost(b, false); len(failed) != 1 {
		t.Fatal("closing: every written call fails")
	}
}

// TestConnWriterBatchesFrames: frames queued by several goroutines come out whole and in queue
// order on the socket.
func TestConnWriterBatchesFrames(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	cn := &conn{nc: client, version: 2, maxFrame: 1024, writeTimeout: 5 * time.Second, done: make(chan struct{})}
	go func() {
		for i := 1; i <= 100; i++ {
			cn.send(&Frame{Type: TypeCredit, SubscriptionID: uint32(i), Credits: 1})
		}
	}()
	fr := NewFrameReader(server, 1024, 2)
	for i := 1; i <= 100; i++ {
		f, err := fr.Next()
		if err != nil || f.Type != TypeCredit || f.SubscriptionID != uint32(i) {
			t.Fatalf("frame %d: %+v %v", i, f, err)
		}
	}
	var tl *FrameTooLargeError
	if err := cn.enqueue(&Frame{Type: TypePublish, Stream: "s", Payload: make([]byte, 2000)}); !errors.As(err, &tl) {
		t.Fatalf("oversized frame: %v", err)
	}
}

func TestBatchQueueBounded(t *testing.T) {
	for _, mode := range []WhenFull{Reject, Block} {
		s := &BatchSender{opts: BatchOptions{WhenFull: mode, BlockTimeout: time.Second}}
		w := &batchWorker{s: s, capacity: 2, notEmpty: make(chan struct{}, 1), space: make(chan struct{})}
		ctx := context.Background()
		for i := 0; i < 2; i++ {
			if err := w.push(ctx, batchEntry{stream: "s"}); err != nil {
				t.Fatal(err)
			}
		}
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		err := w.push(short, batchEntry{stream: "s"})
		cancel()
		if !errors.Is(err, ErrQueueFull) {
			t.Fatalf("mode %v: third push %v", mode, err)
		}
		if mode == Block {
			// a blocked push proceeds once the worker takes the queue
			done := make(chan error, 1)
			go func() { done <- w.push(ctx, batchEntry{stream: "s", payload: []byte("late")}) }()
			for {
				w.mu.Lock()
				waiting := w.waiting
				w.mu.Unlock()
				if waiting == 1 {
					break
				}
				select {
				case err := <-done:
					t.Fatalf("push into a full queue returned %v", err)
				default:
				}
			}
			items, ok := w.take()
			if !ok || len(items) != 2 {
				t.Fatalf("took %d", len(items))
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			items, _ = w.take()
			if len(items) != 1 || string(items[0].payload) != "late" {
				t.Fatalf("then took %v", items)
			}
		}
	}
}
