package wirebus

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// call is one request awaiting its answer. It ends exactly once: whoever removes it from the
// call table (the answer, a lost connection, its deadline, Close) finishes it.
type call struct {
	id         uint64
	frame      *Frame
	desc       func() string
	resendable bool // an idempotent publish: resent after a reconnect instead of failed
	slot       bool // holds a place in the in-flight window
	renewed    bool // SUBSCRIBE/CONSUME/RESPOND_ON: its owner sends a new one on each connection
	conn       *conn
	cb         func(*Frame, error) // if set, called instead of closing done
	done       chan struct{}
	timer      *time.Timer // the deadline of an asynchronous call
	resp       *Frame
	err        error
}

// callTable matches answers to calls by request id. Guarded by the client's mutex.
type callTable struct {
	byID    map[uint64]*call
	pending []*call // not written to any connection yet (not connected, or after GOAWAY)
}

func newCallTable() callTable { return callTable{byID: map[uint64]*call{}} }

func (t *callTable) add(c *call) { t.byID[c.id] = c }

// take removes and returns the call with this id, if it is still open.
func (t *callTable) take(id uint64) *call {
	c := t.byID[id]
	if c != nil {
		delete(t.byID, id)
		if c.conn == nil {
			t.removePending(c)
		}
	}
	return c
}

func (t *callTable) removePending(c *call) {
	for i, p := range t.pending {
		if p == c {
			copy(t.pending[i:], t.pending[i+1:])
			t.pending[len(t.pending)-1] = nil
			t.pending = t.pending[:len(t.pending)-1]
			return
		}
	}
}

// lost handles the end of a connection: resendable calls written on it go back to pending (in
// request id order, before newer ones), the other calls written on it are removed and returned
// to be failed: their outcome is unknown.
func (t *callTable) lost(cn *conn, resend bool) (failed []*call) {
	var again []*call
	for id, c := range t.byID {
		if c.conn != cn {
			continue
		}
		if c.resendable && resend {
			c.conn = nil
			again = append(again, c)
			continue
		}
		delete(t.byID, id)
		failed = append(failed, c)
	}
	if len(again) > 0 {
		t.pending = append(again, t.pending...)
		sort.Slice(t.pending, func(i, j int) bool { return t.pending[i].id < t.pending[j].id })
	}
	return failed
}

// all removes and returns every call (the client is closing).
func (t *callTable) all() []*call {
	out := make([]*call, 0, len(t.byID))
	for id, c := range t.byID {
		delete(t.byID, id)
		out = append(out, c)
	}
	t.pending = nil
	return out
}

// finish ends a call already removed from the table.
func (cl *Client) finish(c *call, resp *Frame, err error) {
	if err == nil && resp != nil && resp.Type == TypeError {
		err = errorFrom(resp.Code, resp.Message, resp.Fields)
		resp = nil
	}
	c.resp, c.err = resp, err
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.slot {
		<-cl.slots
	}
	if c.cb != nil {
		c.cb(resp, err)
		return
	}
	close(c.done)
}

// acquireSlot takes a place in the in-flight window, waiting until ctx (or the default timeout) ends.
func (cl *Client) acquireSlot(ctx context.Context, what func() string) error {
	select {
	case cl.slots <- struct{}{}:
		return nil
	default:
	}
	timeout, stop := defaultTimeout(ctx, cl.opts.RequestTimeout)
	defer stop()
	select {
	case cl.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &TimeoutError{Msg: fmt.Sprintf("%d calls already await answers; %s was not sent", cap(cl.slots), what()), Err: ctx.Err()}
	case <-timeout:
		return &TimeoutError{Msg: fmt.Sprintf("%d calls already await answers; %s was not sent within %v", cap(cl.slots), what(), cl.opts.RequestTimeout)}
	case <-cl.closedCh:
		return cl.closedError()
	}
}

// start registers a call and writes it to the current connection, or keeps it pending until the
// next one. slot calls take a place in the in-flight window first.
func (cl *Client) start(ctx context.Context, f *Frame, slot, resendable bool, desc func() string, cb func(*Frame, error)) (*call, error) {
	if slot {
		if err := cl.acquireSlot(ctx, desc); err != nil {
			return nil, err
		}
	}
	c := &call{id: f.RequestID, frame: f, desc: desc, slot: slot, resendable: resendable, cb: cb}
	if cb == nil {
		c.done = make(chan struct{})
	}
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		if slot {
			<-cl.slots
		}
		return nil, cl.closedError()
	}
	cn := cl.cur
	written := false
	if cn != nil && !cn.goaway.Load() {
		if err := cn.enqueue(f); err != nil {
			if _, broken := err.(*ConnectionError); !broken {
				cl.mu.Unlock()
				if slot {
					<-cl.slots
				}
				return nil, err
			}
			// the connection broke under us: the call waits for the next one, not yet written
		} else {
			c.conn = cn
			written = true
		}
	}
	if !written {
		cl.calls.pending = append(cl.calls.pending, c)
	}
	cl.calls.add(c)
	if cb != nil {
		// an asynchronous call's deadline: ctx's, else the default request timeout
		d := cl.opts.RequestTimeout
		if dl, ok := ctx.Deadline(); ok {
			d = time.Until(dl)
		}
		c.timer = time.AfterFunc(d, func() { cl.expire(c, d) })
	}
	cl.mu.Unlock()
	if written {
		cn.flush()
	}
	return c, nil
}

// expire fails an asynchronous call whose deadline passed.
func (cl *Client) expire(c *call, d time.Duration) {
	cl.mu.Lock()
	mine := cl.calls.byID[c.id] == c
	if mine {
		cl.calls.take(c.id)
	}
	cl.mu.Unlock()
	if mine {
		cl.finish(c, nil, &TimeoutError{Msg: fmt.Sprintf("no answer to %s within %v%s", c.desc(), d, cl.notSent(c))})
	}
}

// defaultTimeout returns a channel that fires after d when ctx has no deadline of its own (nil,
// which never fires, when it has one), and the function that releases its timer.
func defaultTimeout(ctx context.Context, d time.Duration) (<-chan time.Time, func()) {
	if _, ok := ctx.Deadline(); ok {
		return nil, func() {}
	}
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// wait returns the call's answer, or fails it when ctx ends (or, without a deadline on ctx, when
// the default request timeout passes).
func (cl *Client) wait(ctx context.Context, c *call) (*Frame, error) {
	var timeout <-chan time.Time
	if _, ok := ctx.Deadline(); !ok {
		select {
		case <-c.done:
			return c.resp, c.err
		default:
		}
		t := time.NewTimer(cl.opts.RequestTimeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-c.done:
		return c.resp, c.err
	case <-ctx.Done():
		return cl.abandon(c, &TimeoutError{Msg: "no answer to " + c.desc() + " before the context ended" + cl.notSent(c), Err: ctx.Err()})
	case <-timeout:
		return cl.abandon(c, &TimeoutError{Msg: fmt.Sprintf("no answer to %s within %v%s", c.desc(), cl.opts.RequestTimeout, cl.notSent(c))})
	}
}

func (cl *Client) notSent(c *call) string {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if c.conn == nil {
		return " (not sent: not connected)"
	}
	return ""
}

// abandon fails a call whose deadline passed, unless its answer won the race.
func (cl *Client) abandon(c *call, err error) (*Frame, error) {
	cl.mu.Lock()
	mine := cl.calls.byID[c.id] == c
	if mine {
		cl.calls.take(c.id)
	}
	cl.mu.Unlock()
	if mine {
		cl.finish(c, nil, err)
	}
	<-c.done
	return c.resp, c.err
}

// answer completes the call an answer frame belongs to.
func (cl *Client) answer(cn *conn, f *Frame) {
	cl.mu.Lock()
	c := cl.calls.byID[f.RequestID]
	if c == nil || c.conn != cn {
		cl.mu.Unlock()
		return // abandoned, or an answer from a previous connection
	}
	if f.Type == TypeError && Known(f.Code) == CodeShuttingDown && !cl.closed && !c.renewed {
		// the broker is going away and refused the call without doing it: it goes again on the
		// next connection (within its deadline), and nothing new is sent on this one
		cn.goaway.Store(true)
		c.conn = nil
		cl.calls.pending = append(cl.calls.pending, c)
		sort.Slice(cl.calls.pending, func(i, j int) bool { return cl.calls.pending[i].id < cl.calls.pending[j].id })
		cl.mu.Unlock()
		return
	}
	cl.calls.take(f.RequestID)
	cl.mu.Unlock()
	cl.finish(c, f, nil)
}
