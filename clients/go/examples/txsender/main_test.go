package main

import (
	"context"
	"testing"
	"time"

	wirebus "github.com/wirebus/wirebus-go"
	"github.com/wirebus/wirebus-go/internal/brokertest"
)

func TestTxSenderAgainstBroker(t *testing.T) {
	b := brokertest.Start(t, brokertest.Jar(t), "")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := Run(ctx, Config{Addresses: []string{b.TCP}, Workers: 3, Streams: 5, Count: 50000, Size: 16, Acked: true}, t.Logf)
	if err != nil || rep.Acked != 50000 || rep.Failed != 0 {
		t.Fatalf("%+v %v", rep, err)
	}
	c, err := wirebus.Dial(ctx, wirebus.WithAddresses(b.TCP))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, st := range []string{"tx.0", "tx.4"} {
		info, err := c.Consumers(ctx, st)
		if err != nil || info.LastSequence != 10000 {
			t.Fatalf("%s: %+v %v", st, info, err)
		}
	}
}
