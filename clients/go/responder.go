package wirebus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Request is a request a responder handles.
type Request struct {
	Subject string
	Payload []byte
}

// Handler answers a request: a reply, or an error. A *WireError's code is sent as is; any other
// error is sent as RESPONDER_FAILED with its text. ctx ends at the requester's deadline.
type Handler func(ctx context.Context, req Request) ([]byte, error)

// Responder is a registration to answer requests on one subject; it is renewed after reconnects.
type Responder struct {
	cl      *Client
	subject string
	handler Handler

	once       sync.Once
	registered chan struct{}
	regErr     error
}

func (r *Responder) markRegistered(err error) {
	r.once.Do(func() {
		r.regErr = err
		close(r.registered)
	})
}

// Subject is the subject answered.
func (r *Responder) Subject() string { return r.subject }

// Respond registers handler for subject (RESPOND_ON) and waits for the broker's OK.
func (cl *Client) Respond(ctx context.Context, subject string, handler Handler) (*Responder, error) {
	if err := checkName("subject", subject); err != nil {
		return nil, err
	}
	r := &Responder{cl: cl, subject: subject, handler: handler, registered: make(chan struct{})}
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return nil, cl.closedError()
	}
	if _, dup := cl.responders[subject]; dup {
		cl.mu.Unlock()
		return nil, fmt.Errorf("wirebus: this client already responds on subject '%s'", subject)
	}
	cl.responders[subject] = r
	cn := cl.cur
	if cn != nil && !cn.goaway.Load() {
		cl.sendRespondOnLocked(cn, subject, r)
	} else {
		cn = nil
	}
	cl.mu.Unlock()
	if cn != nil {
		cn.flush()
	}
	timeout, stop := defaultTimeout(ctx, cl.opts.RequestTimeout)
	defer stop()
	var err error
	select {
	case <-r.registered:
		if r.regErr == nil {
			return r, nil
		}
		err = r.regErr
	case <-ctx.Done():
		err = &TimeoutError{Msg: "no OK to RESPOND_ON '" + subject + "' before the context ended", Err: ctx.Err()}
	case <-timeout:
		err = &TimeoutError{Msg: fmt.Sprintf("no OK to RESPOND_ON '%s' within %v", subject, cl.opts.RequestTimeout)}
	}
	cctx, cancel := context.WithTimeout(context.Background(), cl.opts.RequestTimeout)
	defer cancel()
	r.Close(cctx)
	return nil, err
}

// sendRespondOnLocked (client mutex held) writes RESPOND_ON for subject on cn.
func (cl *Client) sendRespondOnLocked(cn *conn, subject string, r *Responder) {
	if r == nil {
		r = cl.responders[subject]
	}
	f := &Frame{Type: TypeRespondOn, RequestID: cl.ids.Add(1), Subject: subject}
	c := &call{id: f.RequestID, frame: f, renewed: true, desc: func() string { return "RESPOND_ON subject '" + subject + "'" }}
	c.cb = func(resp *Frame, err error) {
		if err == nil {
			r.markRegistered(nil)
			return
		}
		var ce *ConnectionError
		if errors.As(err, &ce) && !errors.Is(err, ErrClosed) {
			return // registered again on the next connection
		}
		var we *WireError
		if errors.As(err, &we) && we.Code == CodeShuttingDown {
			cn.goaway.Store(true)
			return // registered again on the next connection
		}
		cl.mu.Lock()
		if cl.responders[subject] == r {
			delete(cl.responders, subject)
		}
		cl.mu.Unlock()
		r.markRegistered(err)
		cl.report(fmt.Errorf("wirebus: responder on '%s' refused: %w", subject, err))
	}
	if err := cn.enqueue(f); err != nil {
		return
	}
	c.conn = cn
	cl.calls.add(c)
}

// Close stops answering (RESPOND_OFF).
func (r *Responder) Close(ctx context.Context) error {
	cl := r.cl
	cl.mu.Lock()
	if cl.responders[r.subject] != r {
		cl.mu.Unlock()
		return nil
	}
	delete(cl.responders, r.subject)
	connected := cl.cur != nil && !cl.closed
	cl.mu.Unlock()
	if !connected {
		return nil
	}
	f := &Frame{Type: TypeRespondOff, RequestID: cl.ids.Add(1), Subject: r.subject}
	_, err := cl.roundTrip(ctx, f, func() string { return "RESPOND_OFF subject '" + r.subject + "'" })
	var ce *ConnectionError
	if errors.As(err, &ce) {
		return nil
	}
	return err
}

// onRequest runs the handler of a forwarded REQUEST on its own goroutine (at most
// MaxConcurrentRequests at once) and answers on the connection it came from.
func (cl *Client) onRequest(cn *conn, f *Frame) {
	cl.mu.Lock()
	r := cl.responders[f.Subject]
	cl.mu.Unlock()
	if r == nil {
		cn.send(&Frame{Type: TypeError, RequestID: f.RequestID, Code: uint16(CodeResponderFailed),
			Message: "this client no longer responds on subject '" + f.Subject + "'"})
		return
	}
	select {
	case cl.reqSem <- struct{}{}:
	default:
		cn.send(&Frame{Type: TypeError, RequestID: f.RequestID, Code: uint16(CodeBackpressure),
			Message: fmt.Sprintf("responder has %d requests in progress", cap(cl.reqSem))})
		return
	}
	go func() {
		defer func() { <-cl.reqSem }()
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(f.TimeoutMillis)*time.Millisecond)
		defer cancel()
		reply, err := safeHandle(ctx, r.handler, Request{Subject: f.Subject, Payload: f.Payload})
		if ctx.Err() == context.DeadlineExceeded {
			return // the requester's deadline passed: the broker has answered TIMEOUT itself
		}
		var answer *Frame
		if err != nil {
			code := CodeResponderFailed
			var we *WireError
			if errors.As(err, &we) {
				code = we.Code
			}
			answer = &Frame{Type: TypeError, RequestID: f.RequestID, Code: uint16(code), Message: truncateName(err.Error())}
		} else {
			answer = &Frame{Type: TypeResponse, RequestID: f.RequestID, Payload: reply}
		}
		if err := cn.send(answer); err != nil {
			var tl *FrameTooLargeError
			if errors.As(err, &tl) {
				cn.send(&Frame{Type: TypeError, RequestID: f.RequestID, Code: uint16(CodeMessageTooLarge), Message: tl.Error()})
			}
		}
	}()
}

func safeHandle(ctx context.Context, h Handler, req Request) (reply []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return h(ctx, req)
}

// Request sends payload to a responder of subject and returns its reply. The broker's deadline is
// ctx's (or the client's RequestTimeout); errors: NO_RESPONDERS, TIMEOUT, RESPONDER_GONE,
// RESPONDER_FAILED as *WireError, or a local *TimeoutError.
func (cl *Client) Request(ctx context.Context, subject string, payload []byte) ([]byte, error) {
	timeout := cl.opts.RequestTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	return cl.RequestTimeout(ctx, subject, payload, timeout)
}

// RequestTimeout is Request with the broker-side deadline given apart: the broker answers TIMEOUT
// once timeout has passed; the client itself waits a little longer (up to 1 s more), unless ctx
// ends first.
func (cl *Client) RequestTimeout(ctx context.Context, subject string, payload []byte, timeout time.Duration) ([]byte, error) {
	if err := checkName("subject", subject); err != nil {
		return nil, err
	}
	ms := (timeout + time.Millisecond - 1) / time.Millisecond
	if ms < 1 {
		return nil, &TimeoutError{Msg: "request on '" + subject + "' has no time left", Err: ctx.Err()}
	}
	if ms > maxU31 {
		ms = maxU31
	}
	grace := timeout
	if grace > time.Second {
		grace = time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, timeout+grace)
	defer cancel()
	f := &Frame{Type: TypeRequest, RequestID: cl.ids.Add(1), Subject: subject, TimeoutMillis: uint32(ms), Payload: payload}
	desc := func() string { return "REQUEST on subject '" + subject + "'" }
	c, err := cl.start(wctx, f, true, false, desc, nil)
	if err != nil {
		return nil, err
	}
	resp, err := cl.wait(wctx, c)
	if err != nil {
		return nil, err
	}
	if err := expect(resp, TypeResponse, desc); err != nil {
		return nil, err
	}
	return resp.Payload, nil
}
