// Command executor is a block executor: it consumes stream "blocks" as the durable consumer
// "executor" with explicit acks and maxLag 500 (so the consensus node publishing blocks never
// runs more than 500 blocks ahead of execution), executes the blocks strictly in order, and
// answers "state.committee", "state.validators" and "state.epoch" requests.
//
//	./wirebus serve                               # in the repository root
//	cd clients/go && go run ./examples/executor   # -addr unix:///path,tcp://host:port to choose
package main

import (
	"context"
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

func main() {
	addr := flag.String("addr", "", "broker addresses, comma separated (default: the broker's default socket, then tcp://127.0.0.1:7440)")
	stream := flag.String("stream", "blocks", "stream of blocks")
	consumer := flag.String("consumer", "executor", "durable consumer name")
	maxLag := flag.Uint("max-lag", 500, "blocks the producer may run ahead of execution")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := log.New(os.Stderr, "executor: ", log.LstdFlags)
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, err := wirebus.Dial(dctx, wirebus.WithAddresses(exampleaddr.Addresses(*addr)...), wirebus.WithName("executor"),
		wirebus.WithErrorHandler(func(err error) { logger.Print(err) }))
	cancel()
	if err != nil {
		logger.Fatal(err)
	}
	defer c.Close()
	logger.Printf("connected to %s (protocol %d); consuming %q as %q, maxLag %d; answering %v",
		c.Address(), c.ProtocolVersion(), *stream, *consumer, *maxLag, Subjects)
	var ex Executor
	last := time.Now()
	err = ex.Run(ctx, c, Config{Stream: *stream, Consumer: *consumer, MaxLag: uint32(*maxLag), OnBlock: func(seq uint64) {
		if time.Since(last) >= time.Second {
			last = time.Now()
			s := ex.Snapshot()
			fmt.Printf("executed block %d (epoch %d, state root %.16s…)\n", seq, s.Epoch, s.StateRoot)
		}
	}})
	if err != nil {
		logger.Fatal(err)
	}
	s := ex.Snapshot()
	fmt.Printf("stopped after block %d (epoch %d)\n", s.Height, s.Epoch)
}
