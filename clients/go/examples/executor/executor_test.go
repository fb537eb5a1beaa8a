package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	wirebus "github.com/wirebus/wirebus-go"
	"github.com/wirebus/wirebus-go/internal/brokertest"
)

// TestExecutorAgainstBroker: a consensus node publishes 2000 blocks with expected sequences; the
// executor (through a proxy that cuts its connection once) executes them in order, gates the
// node at maxLag 500 while it is stalled, and answers the state queries.
func TestExecutorAgainstBroker(t *testing.T) {
	b := brokertest.Start(t, brokertest.Jar(t), "")
	p := brokertest.NewProxy(t, b.HostPort())
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	exClient, err := wirebus.Dial(ctx, wirebus.WithAddresses(p.Addr()), wirebus.WithName("executor"),
		wirebus.WithReconnect(wirebus.ReconnectPolicy{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer exClient.Close()
	node, err := wirebus.Dial(ctx, wirebus.WithAddresses(b.TCP), wirebus.WithName("consensus"))
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()

	const blocks = 2000
	stall := make(chan struct{})
	executed := make(chan uint64, blocks)
	var ex Executor
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() {
		runDone <- ex.Run(runCtx, exClient, Config{Stream: "blocks", Consumer: "executor", MaxLag: 500, OnBlock: func(seq uint64) {
			if seq == 10 {
				<-stall // the executor stalls after block 10
			}
			executed <- seq
		}})
	}()
	// wait until the executor is a connected gating consumer
	for {
		info, err := node.Consumers(ctx, "blocks")
		if err != nil {
			t.Fatal(err)
		}
		if len(info.Consumers) == 1 && info.Consumers[0].Connected {
			if info.Consumers[0].Name != "executor" || info.Consumers[0].MaxLag != 500 {
				t.Fatalf("consumer: %+v", info.Consumers[0])
			}
			break
		}
		select {
		case err := <-runDone:
			t.Fatalf("executor stopped: %v", err)
		default:
		}
	}
	// the node publishes every block with its expected sequence, pipelined
	acks := make(chan error, blocks)
	go func() {
		for h := uint64(1); h <= blocks; h++ {
			epoch := h / 100
			h := h
			blk, _ := json.Marshal(Block{Height: &h, Epoch: &epoch, Validators: []string{"v1", "v2", fmt.Sprintf("v%d", 3+epoch)},
				Committee: []string{"v1", fmt.Sprintf("v%d", 3+epoch)}, Txs: json.RawMessage(`["tx"]`)})
			err := node.PublishAsync(ctx, "blocks", [][]byte{blk}, func(a wirebus.PublishAck, err error) {
				if err == nil && (a.FirstSequence != h || a.Count != 1) {
					err = fmt.Errorf("ack %+v", a)
				}
				acks <- err
			}, wirebus.ExpectSequence(h))
			if err != nil {
				acks <- err
				return
			}
		}
	}()
	// while the executor is stalled at block 10 the gate holds the node at acked + 500
	for {
		info, err := node.Consumers(ctx, "blocks")
		if err != nil {
			t.Fatal(err)
		}
		if info.HeldPublishes > 0 {
			if lag := info.LastSequence - info.Consumers[0].AckedSequence; lag > 500 || info.LastSequence > 510 {
				t.Fatalf("node ran ahead: last %d, acked %d", info.LastSequence, info.Consumers[0].AckedSequence)
			}
			break
		}
	}
	close(stall)
	p.Cut() // and the executor's connection drops once
	for h := uint64(1); h <= blocks; h++ {
		select {
		case seq := <-executed:
			if seq != h {
				t.Fatalf("executed %d, want %d", seq, h)
			}
		case err := <-runDone:
			t.Fatalf("executor stopped at %d: %v", h, err)
		case <-ctx.Done():
			t.Fatalf("block %d never executed", h)
		}
	}
	for i := 0; i < blocks; i++ {
		if err := <-acks; err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	// state queries, as another service asks them
	q, err := wirebus.Dial(ctx, wirebus.WithAddresses(b.TCP), wirebus.WithName("query"))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var ep struct {
		Epoch, Height uint64
		StateRoot     string
	}
	for {
		raw, err := q.Request(ctx, "state.epoch", nil)
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(raw, &ep)
		if ep.Height == blocks {
			break
		}
	}
	if ep.Epoch != blocks/100 || len(ep.StateRoot) != 64 {
		t.Fatalf("state.epoch: %+v", ep)
	}
	var com struct{ Committee []string }
	raw, err := q.Request(ctx, "state.committee", nil)
	if err != nil || json.Unmarshal(raw, &com) != nil || len(com.Committee) != 2 || com.Committee[1] != fmt.Sprintf("v%d", 3+blocks/100) {
		t.Fatalf("state.committee: %s %v", raw, err)
	}
	var val struct{ Validators []string }
	raw, err = q.Request(ctx, "state.validators", nil)
	if err != nil || json.Unmarshal(raw, &val) != nil || len(val.Validators) != 3 {
		t.Fatalf("state.validators: %s %v", raw, err)
	}
	stopRun()
	if err := <-runDone; err != nil {
		t.Fatal(err)
	}
	// the Rust consensus node's block format; epochs and committees derived when blocks omit them
	var rust Executor
	for h := uint64(1); h <= 250; h++ {
		if err := rust.Execute(h, []byte(fmt.Sprintf(`{"height":%d,"parent":"00000000abcd","txs":%d}`, h, h%17))); err != nil {
			t.Fatal(err)
		}
	}
	if st := rust.Snapshot(); st.Epoch != 2 || st.BlockHeight != 250 || len(st.Committee) != 3 || st.Committee[0] != "validator-2" || st.Txs == 0 {
		t.Fatalf("state from rust blocks: %+v", st)
	}
	// out-of-order input is refused, never executed
	var fresh Executor
	if err := fresh.Execute(1, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := fresh.Execute(3, []byte("x")); err == nil || errors.Is(err, context.Canceled) {
		t.Fatal("a gap was executed")
	}
}
