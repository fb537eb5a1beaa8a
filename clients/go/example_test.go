package wirebus_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	wirebus "github.com/wirebus/wirebus-go"
)

func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := wirebus.Dial(ctx, wirebus.WithAddresses(wirebus.DefaultAddress(), "tcp://127.0.0.1:7440"), wirebus.WithName("example"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ack, err := c.Publish(ctx, "orders", []byte("hello"))
	var sm *wirebus.SequenceMismatchError
	switch {
	case errors.As(err, &sm):
		fmt.Println("stream is at", sm.LastSequence)
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Println("appended at", ack.FirstSequence)
	}
	sub, err := c.Subscribe(ctx, "orders", wirebus.SubscribeOptions{Start: wirebus.Earliest})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sub.Close(ctx)
	m, err := sub.Next(ctx)
	fmt.Println(m.Sequence, string(m.Payload), err)
}

func ExampleClient_Respond() {
	ctx := context.Background()
	c, err := wirebus.Dial(ctx)
	if err != nil {
		return
	}
	defer c.Close()
	c.Respond(ctx, "state.epoch", func(ctx context.Context, req wirebus.Request) ([]byte, error) {
		return []byte(`{"epoch":7}`), nil
	})
	reply, err := c.Request(ctx, "state.epoch", nil)
	fmt.Println(string(reply), err)
}

func ExampleBatchSender() {
	ctx := context.Background()
	s, err := wirebus.NewBatchSender(ctx, wirebus.BatchOptions{
		Client:  wirebus.Options{Addresses: []string{"tcp://127.0.0.1:7440"}},
		Workers: 4, WhenFull: wirebus.Reject})
	if err != nil {
		return
	}
	defer s.Close(ctx)
	if err := s.Send(ctx, "tx.0", []byte("tx")); errors.Is(err, wirebus.ErrQueueFull) {
		fmt.Println("shed load")
	}
	r, _ := s.Publish(ctx, "tx.1", []byte("tx"))
	seq, err := r.Wait(ctx)
	fmt.Println(seq, err)
}
