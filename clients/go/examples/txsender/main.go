// Command txsender is a batching transaction sender (the tx-ingress case): it queues
// transactions into a BatchSender whose N workers each keep one connection to the broker and
// send PUBLISH_BATCH frames; a stream ("tx.0" .. "tx.<streams-1>") always goes through the same
// worker, so each stream's transactions are appended in the order they were sent.
//
//	./wirebus serve                                              # in the repository root
//	cd clients/go && go run ./examples/txsender -workers 4 -count 1000000
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	wirebus "github.com/wirebus/wirebus-go"
	"github.com/wirebus/wirebus-go/examples/internal/exampleaddr"
)

// Config of a run.
type Config struct {
	Addresses  []string
	Workers    int
	Streams    int
	Count      int
	Size       int
	Reject     bool // reject when the queue is full instead of blocking
	Acked      bool // wait for each transaction's sequence (else fire-and-forget)
	Idempotent bool
}

// Report is what a run did.
type Report struct {
	Sent, Acked, Failed, Rejected int64
	Elapsed                       time.Duration
}

// Run sends cfg.Count transactions and waits until all are acknowledged or failed.
func Run(ctx context.Context, cfg Config, logf func(string, ...interface{})) (Report, error) {
	s, err := wirebus.NewBatchSender(ctx, wirebus.BatchOptions{
		Client:     wirebus.Options{Addresses: cfg.Addresses, Name: "txsender", OnError: func(err error) { logf("%v", err) }},
		Workers:    cfg.Workers,
		WhenFull:   map[bool]wirebus.WhenFull{false: wirebus.Block, true: wirebus.Reject}[cfg.Reject],
		Idempotent: cfg.Idempotent,
		OnError:    func(err error) { logf("%v", err) },
	})
	if err != nil {
		return Report{}, err
	}
	streams := make([]string, cfg.Streams)
	for i := range streams {
		streams[i] = fmt.Sprintf("tx.%d", i)
	}
	start := time.Now()
	var results []*wirebus.PublishResult
	var rep Report
	for i := 0; i < cfg.Count && ctx.Err() == nil; i++ {
		tx := make([]byte, cfg.Size)
		binary.BigEndian.PutUint64(tx, uint64(i))
		st := streams[i%len(streams)]
		if cfg.Acked {
			r, err := s.Publish(ctx, st, tx)
			if err == nil {
				results = append(results, r)
			}
		} else if err := s.Send(ctx, st, tx); err != nil && !cfg.Reject {
			logf("send: %v", err)
		}
		rep.Sent++
	}
	fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Flush(fctx); err != nil {
		logf("flush: %v", err)
	}
	rep.Elapsed = time.Since(start)
	for _, r := range results {
		if _, err := r.Wait(fctx); err != nil {
			logf("tx failed: %v", err)
		}
	}
	rep.Acked, rep.Failed, rep.Rejected = s.AckedCount(), s.FailedCount(), s.RejectedCount()
	return rep, s.Close(fctx)
}

func main() {
	addr := flag.String("addr", "", "broker addresses, comma separated (default: the broker's default socket, then tcp://127.0.0.1:7440)")
	var cfg Config
	flag.IntVar(&cfg.Workers, "workers", 4, "workers, each with its own connection")
	flag.IntVar(&cfg.Streams, "streams", 8, "streams tx.0 .. tx.N-1")
	flag.IntVar(&cfg.Count, "count", 1000000, "transactions to send")
	flag.IntVar(&cfg.Size, "size", 100, "bytes per transaction")
	flag.BoolVar(&cfg.Reject, "reject", false, "reject (count) transactions when the queue is full instead of blocking")
	flag.BoolVar(&cfg.Acked, "acked", false, "keep a result per transaction (else fire-and-forget)")
	flag.BoolVar(&cfg.Idempotent, "idempotent", false, "idempotent batches: resent after a reconnect, appended once")
	flag.Parse()
	cfg.Addresses = exampleaddr.Addresses(*addr)
	if cfg.Size < 8 {
		cfg.Size = 8
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := log.New(os.Stderr, "txsender: ", log.LstdFlags)
	rep, err := Run(ctx, cfg, logger.Printf)
	if err != nil {
		logger.Fatal(err)
	}
	fmt.Printf("sent %d, acknowledged %d, failed %d, rejected %d in %v: %.0f tx/s acknowledged\n",
		rep.Sent, rep.Acked, rep.Failed, rep.Rejected, rep.Elapsed.Round(time.Millisecond), float64(rep.Acked)/rep.Elapsed.Seconds())
	if rep.Failed > 0 {
		os.Exit(1)
	}
}
