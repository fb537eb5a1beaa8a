package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	wirebus "github.com/wirebus/wirebus-go"
)

// Block is what the consensus node publishes on stream "blocks" (JSON), for example
// {"height":7,"parent":"…","txs":3} from the Rust consensus_node example. Every field is
// optional: a block without an epoch is in epoch (sequence-1)/EpochBlocks, one without validators
// keeps the current set, one without a committee gets the validators rotated by epoch. A payload
// that is not JSON is executed as opaque bytes.
type Block struct {
	Height     *uint64         `json:"height,omitempty"`
	Epoch      *uint64         `json:"epoch,omitempty"`
	Validators []string        `json:"validators,omitempty"`
	Committee  []string        `json:"committee,omitempty"`
	Txs        json.RawMessage `json:"txs,omitempty"` // a count, or a list of transactions
}

// EpochBlocks is the epoch length for blocks that do not say their epoch.
const EpochBlocks = 100

// State is the executor's state after the last executed block.
type State struct {
	Height      uint64   `json:"height"`      // sequence of the last executed block
	BlockHeight uint64   `json:"blockHeight"` // the height the block itself states, if any
	Epoch       uint64   `json:"epoch"`
	Validators  []string `json:"validators"`
	Committee   []string `json:"committee"`
	StateRoot   string   `json:"stateRoot"` // sha256 chain over every executed block, in order
	Txs         uint64   `json:"txs"`
}

// Executor executes blocks strictly in stream order and answers state queries.
type Executor struct {
	mu    sync.RWMutex
	state State
	root  [32]byte
}

var defaultValidators = []string{"validator-0", "validator-1", "validator-2", "validator-3"}

// Execute applies the block at sequence seq. Blocks must come in order with no gap: anything else
// is an error (the subscription guarantees it; this checks it).
func (e *Executor) Execute(seq uint64, payload []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state.Height != 0 && seq != e.state.Height+1 {
		return fmt.Errorf("block %d after block %d: out of order", seq, e.state.Height)
	}
	if e.state.Validators == nil {
		e.state.Validators = append([]string(nil), defaultValidators...)
	}
	epoch := (seq - 1) / EpochBlocks
	var b Block
	committee := []string(nil)
	if json.Unmarshal(payload, &b) == nil {
		if b.Height != nil {
			e.state.BlockHeight = *b.Height
		}
		if b.Epoch != nil {
			epoch = *b.Epoch
		}
		if b.Validators != nil {
			e.state.Validators = append([]string(nil), b.Validators...)
		}
		committee = b.Committee
		var n uint64
		var list []json.RawMessage
		if json.Unmarshal(b.Txs, &n) == nil {
			e.state.Txs += n
		} else if json.Unmarshal(b.Txs, &list) == nil {
			e.state.Txs += uint64(len(list))
		}
	}
	if committee == nil && (epoch != e.state.Epoch || e.state.Committee == nil) {
		// rotate: the validators from index epoch on, all but the last
		v := e.state.Validators
		size := len(v) - 1
		if size < 1 {
			size = len(v)
		}
		committee = make([]string, 0, size)
		for i := 0; i < size; i++ {
			committee = append(committee, v[(int(epoch)+i)%len(v)])
		}
	}
	if committee != nil {
		e.state.Committee = append([]string(nil), committee...)
	}
	e.state.Epoch = epoch
	h := sha256.New()
	h.Write(e.root[:])
	h.Write(payload)
	copy(e.root[:], h.Sum(nil))
	e.state.Height = seq
	e.state.StateRoot = hex.EncodeToString(e.root[:])
	return nil
}

// Snapshot is a copy of the state.
func (e *Executor) Snapshot() State {
	e.mu.RLock()
	defer e.mu.RUnlock()
	s := e.state
	s.Validators = append([]string{}, s.Validators...)
	s.Committee = append([]string{}, s.Committee...)
	return s
}

// Answer is the reply to a state query subject.
func (e *Executor) Answer(subject string) ([]byte, error) {
	s := e.Snapshot()
	switch subject {
	case "state.committee":
		return json.Marshal(map[string]interface{}{"epoch": s.Epoch, "height": s.Height, "committee": s.Committee})
	case "state.validators":
		return json.Marshal(map[string]interface{}{"epoch": s.Epoch, "height": s.Height, "validators": s.Validators})
	case "state.epoch":
		return json.Marshal(map[string]interface{}{"epoch": s.Epoch, "height": s.Height, "stateRoot": s.StateRoot})
	}
	return nil, fmt.Errorf("unknown subject %q", subject)
}

// Config of Run.
type Config struct {
	Stream   string // "blocks"
	Consumer string // "executor"
	MaxLag   uint32 // 500
	// OnBlock, if set, hears of each executed block (for logs and tests).
	OnBlock func(seq uint64)
}

// Subjects the executor answers on.
var Subjects = []string{"state.committee", "state.validators", "state.epoch"}

// Run consumes cfg.Stream as the durable consumer cfg.Consumer (explicit acks, gating the
// producer at cfg.MaxLag), executes each block in order, acknowledges it once executed, and
// answers the state queries, until ctx ends or the subscription fails.
func (e *Executor) Run(ctx context.Context, c *wirebus.Client, cfg Config) error {
	for _, subj := range Subjects {
		subj := subj
		r, err := c.Respond(ctx, subj, func(context.Context, wirebus.Request) ([]byte, error) { return e.Answer(subj) })
		if err != nil {
			return fmt.Errorf("responding on %s: %w", subj, err)
		}
		defer r.Close(context.Background())
	}
	// a restarted executor continues after the consumer's acknowledged position; the state it
	// rebuilds from there is its own business (this example keeps it in memory)
	sub, err := c.Subscribe(ctx, cfg.Stream, wirebus.SubscribeOptions{Start: wirebus.Earliest, Consumer: cfg.Consumer,
		AckMode: wirebus.AckManual, MaxLag: cfg.MaxLag, Window: int(cfg.MaxLag)})
	if err != nil {
		return fmt.Errorf("consuming %s as %s: %w", cfg.Stream, cfg.Consumer, err)
	}
	defer sub.Close(context.Background())
	for {
		m, err := sub.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := e.Execute(m.Sequence, m.Payload); err != nil {
			return err
		}
		// acknowledged once executed: the producer runs at most MaxLag blocks ahead of this
		if err := sub.AckNoWait(m.Sequence); err != nil && !errors.Is(err, wirebus.ErrConnection) {
			return err
		}
		if cfg.OnBlock != nil {
			cfg.OnBlock(m.Sequence)
		}
	}
}
