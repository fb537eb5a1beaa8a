// Command wirebus-conformance is the Go client's conformance driver: JSON commands on stdin, one
// per line, one JSON reply per command on stdout, in order (SPEC.md, "Conformance driver
// protocol"). Logs go to stderr. It exits 0 at the end of its input.
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	wirebus "github.com/wirebus/wirebus-go"
)

// cmd is every field any command uses.
type cmd struct {
	Cmd              string          `json:"cmd"`
	Addresses        []string        `json:"addresses"`
	Name             string          `json:"name"`
	Stream           string          `json:"stream"`
	Payload          *string         `json:"payload"`
	Payloads         []string        `json:"payloads"`
	ExpectedSequence uint64          `json:"expectedSequence"`
	Producer         string          `json:"producer"`
	ProducerSequence uint64          `json:"producerSequence"`
	Sub              string          `json:"sub"`
	Start            json.RawMessage `json:"start"`
	Credits          int             `json:"credits"`
	Consumer         string          `json:"consumer"`
	AckMode          string          `json:"ackMode"`
	MaxLag           uint32          `json:"maxLag"`
	Count            int             `json:"count"`
	TimeoutMs        int64           `json:"timeoutMs"`
	Sequence         uint64          `json:"sequence"`
	From             uint64          `json:"from"`
	Max              int             `json:"max"`
	Subject          string          `json:"subject"`
	Reply            *string         `json:"reply"`
	Echo             bool            `json:"echo"`
	Token            string          `json:"token"`
}

type obj = map[string]interface{}

type driver struct {
	client *wirebus.Client
	subs   map[string]*wirebus.Subscription
	log    *log.Logger
}

func main() {
	d := &driver{subs: map[string]*wirebus.Subscription{}, log: log.New(os.Stderr, "wirebus-conformance(go): ", log.LstdFlags|log.Lmicroseconds)}
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	for {
		line, err := in.ReadString('\n')
		if strings.TrimSpace(line) != "" {
			reply := d.handle(line)
			if e := enc.Encode(reply); e != nil {
				d.log.Printf("cannot write reply: %v", e)
				os.Exit(1)
			}
			out.Flush()
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			d.log.Printf("reading stdin: %v", err)
			break
		}
	}
	if d.client != nil {
		d.client.Close()
	}
}

func fail(code int, name, msg string) obj {
	return obj{"ok": false, "error": obj{"code": code, "name": name, "message": msg}}
}

// errorObject renders err as the driver protocol's error object.
func errorObject(err error) obj {
	var te *wirebus.TimeoutError
	var ce *wirebus.ConnectionError
	var we *wirebus.WireError
	switch {
	case errors.As(err, &te):
		return obj{"code": -1, "name": "CLIENT_TIMEOUT", "message": err.Error()}
	case errors.As(err, &ce):
		return obj{"code": -1, "name": "CONNECTION", "message": err.Error()}
	case errors.As(err, &we):
		e := obj{"code": int(we.Number), "name": we.Code.String(), "message": we.Message}
		if we.Fields.Len() > 0 {
			e["fields"] = we.Fields.Map()
		}
		return e
	}
	return obj{"code": -1, "name": "CLIENT", "message": err.Error()}
}

func failErr(err error) obj { return obj{"ok": false, "error": errorObject(err)} }

func decodeHex(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("bad hex %q: %v", s, err)
	}
	return b, nil
}

func messagesJSON(ms []wirebus.Message) []obj {
	out := make([]obj, 0, len(ms))
	for _, m := range ms {
		out = append(out, obj{"sequence": m.Sequence, "payload": hex.EncodeToString(m.Payload)})
	}
	return out
}

func parseStart(raw json.RawMessage) (wirebus.StartPosition, error) {
	if len(raw) == 0 {
		return wirebus.Earliest, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "earliest":
			return wirebus.Earliest, nil
		case "latest":
			return wirebus.Latest, nil
		}
		return wirebus.StartPosition{}, fmt.Errorf("unknown start %q", s)
	}
	var o struct {
		Sequence *uint64 `json:"sequence"`
	}
	if err := json.Unmarshal(raw, &o); err != nil || o.Sequence == nil {
		return wirebus.StartPosition{}, fmt.Errorf("bad start %s", raw)
	}
	return wirebus.FromSequence(*o.Sequence), nil
}

func timeout(ms int64, def time.Duration) time.Duration {
	if ms <= 0 {
		return def
	}
	return time.Duration(ms) * time.Millisecond
}

func (d *driver) handle(line string) (reply obj) {
	defer func() {
		if p := recover(); p != nil {
			d.log.Printf("panic on %q: %v", line, p)
			reply = fail(-1, "CLIENT", fmt.Sprintf("driver panic: %v", p))
		}
	}()
	var c cmd
	dec := json.NewDecoder(strings.NewReader(line))
	if err := dec.Decode(&c); err != nil {
		return fail(-1, "CLIENT", "bad command: "+err.Error())
	}
	if c.Cmd != "connect" && c.Cmd != "close" && d.client == nil {
		switch c.Cmd {
		case "publish", "publishBatch", "subscribe", "consume", "take", "ack", "unsubscribe", "fetch", "respond", "request", "consumers", "auth":
			return fail(-1, "CONNECTION", "not connected: send connect first")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch c.Cmd {
	case "connect":
		if d.client != nil {
			d.client.Close()
			d.client = nil
			d.subs = map[string]*wirebus.Subscription{}
		}
		name := c.Name
		if name == "" {
			name = "go-conformance"
		}
		cl, err := wirebus.Connect(ctx, wirebus.Options{Addresses: c.Addresses, Name: name,
			Reconnect: wirebus.ReconnectPolicy{Initial: 20 * time.Millisecond, Max: 500 * time.Millisecond},
			OnError:   func(e error) { d.log.Printf("%v", e) }, Token: c.Token})
		if err != nil {
			return failErr(err)
		}
		d.client = cl
		answer := obj{"ok": true, "version": cl.ProtocolVersion()}
		if p := cl.Principal(); p.Principal != "" {
			answer["principal"] = p.Principal
		}
		return answer
	case "auth":
		info, err := d.client.Auth(ctx, c.Token)
		if err != nil {
			return failErr(err)
		}
		return obj{"ok": true, "principal": info.Principal, "expiresAtMillis": info.ExpiresAtMillis}
	case "publish":
		if c.Payload == nil {
			return fail(-1, "CLIENT", "publish needs payload")
		}
		p, err := decodeHex(*c.Payload)
		if err != nil {
			return fail(-1, "CLIENT", err.Error())
		}
		var opts []wirebus.PublishOption
		if c.ExpectedSequence > 0 {
			opts = append(opts, wirebus.ExpectSequence(c.ExpectedSequence))
		}
		ack, err := d.client.Publish(ctx, c.Stream, p, opts...)
		if err != nil {
			return failErr(err)
		}
		return obj{"ok": true, "sequence": ack.FirstSequence}
	case "publishBatch":
		payloads := make([][]byte, 0, len(c.Payloads))
		for _, h := range c.Payloads {
			p, err := decodeHex(h)
			if err != nil {
				return fail(-1, "CLIENT", err.Error())
			}
			payloads = append(payloads, p)
		}
		var opts []wirebus.PublishOption
		if c.ExpectedSequence > 0 {
			opts = append(opts, wirebus.ExpectSequence(c.ExpectedSequence))
		}
		if c.Producer != "" {
			opts = append(opts, wirebus.AsProducer(c.Producer, c.ProducerSequence))
		}
		var ack wirebus.PublishAck
		var err error
		if len(payloads) == 1 && c.Producer == "" {
			// one record without a producer still goes as PUBLISH_BATCH, as asked
			ack, err = d.client.PublishBatch(ctx, c.Stream, payloads, append(opts, wirebus.AsBatch())...)
		} else {
			ack, err = d.client.PublishBatch(ctx, c.Stream, payloads, opts...)
		}
		if err != nil {
			return failErr(err)
		}
		return obj{"ok": true, "firstSequence": ack.FirstSequence, "count": ack.Count, "duplicate": ack.Duplicate}
	case "subscribe", "consume":
		if c.Sub == "" {
			return fail(-1, "CLIENT", c.Cmd+" needs sub")
		}
		if _, dup := d.subs[c.Sub]; dup {
			return fail(-1, "CLIENT", "sub "+c.Sub+" is open already")
		}
		start, err := parseStart(c.Start)
		if err != nil {
			return fail(-1, "CLIENT", err.Error())
		}
		o := wirebus.SubscribeOptions{Start: start, Window: c.Credits}
		if c.Cmd == "consume" {
			o.Consumer = c.Consumer
			o.MaxLag = c.MaxLag
			o.AckMode = wirebus.AckManual
			if c.AckMode == "auto" {
				o.AckMode = wirebus.AckAuto
			} else if c.AckMode != "" && c.AckMode != "explicit" {
				return fail(-1, "CLIENT", "ackMode must be explicit or auto")
			}
		}
		s, err := d.client.Subscribe(ctx, c.Stream, o)
		if err != nil {
			return failErr(err)
		}
		d.subs[c.Sub] = s
		return obj{"ok": true, "startSequence": s.StartSequence()}
	case "take":
		s := d.subs[c.Sub]
		if s == nil {
			return fail(-1, "CLIENT", "no sub "+c.Sub)
		}
		tctx, tcancel := context.WithTimeout(context.Background(), timeout(c.TimeoutMs, 10*time.Second))
		defer tcancel()
		var got []wirebus.Message
		for len(got) < c.Count {
			m, err := s.Next(tctx)
			if err != nil {
				r := failErr(err)
				r["messages"] = messagesJSON(got)
				return r
			}
			got = append(got, m)
		}
		return obj{"ok": true, "messages": messagesJSON(got)}
	case "ack":
		s := d.subs[c.Sub]
		if s == nil {
			return fail(-1, "CLIENT", "no sub "+c.Sub)
		}
		if err := s.Ack(ctx, c.Sequence); err != nil {
			return failErr(err)
		}
		return obj{"ok": true}
	case "unsubscribe":
		s := d.subs[c.Sub]
		if s == nil {
			return fail(-1, "CLIENT", "no sub "+c.Sub)
		}
		delete(d.subs, c.Sub)
		if err := s.Close(ctx); err != nil {
			return failErr(err)
		}
		return obj{"ok": true}
	case "fetch":
		r, err := d.client.Fetch(ctx, c.Stream, c.From, c.Max)
		if err != nil {
			return failErr(err)
		}
		return obj{"ok": true, "lastSequence": r.LastSequence, "messages": messagesJSON(r.Messages)}
	case "respond":
		var reply []byte
		if !c.Echo {
			if c.Reply == nil {
				return fail(-1, "CLIENT", "respond needs reply or echo")
			}
			var err error
			if reply, err = decodeHex(*c.Reply); err != nil {
				return fail(-1, "CLIENT", err.Error())
			}
		}
		echo := c.Echo
		_, err := d.client.Respond(ctx, c.Subject, func(_ context.Context, req wirebus.Request) ([]byte, error) {
			if echo {
				return req.Payload, nil
			}
			return reply, nil
		})
		if err != nil {
			return failErr(err)
		}
		return obj{"ok": true}
	case "request":
		var p []byte
		if c.Payload != nil {
			var err error
			if p, err = decodeHex(*c.Payload); err != nil {
				return fail(-1, "CLIENT", err.Error())
			}
		}
		got, err := d.client.RequestTimeout(context.Background(), c.Subject, p, timeout(c.TimeoutMs, 5*time.Second))
		if err != nil {
			return failErr(err)
		}
		return obj{"ok": true, "payload": hex.EncodeToString(got)}
	case "consumers":
		r, err := d.client.Consumers(ctx, c.Stream)
		if err != nil {
			return failErr(err)
		}
		list := make([]obj, 0, len(r.Consumers))
		for _, k := range r.Consumers {
			list = append(list, obj{"name": k.Name, "ackedSequence": k.AckedSequence, "maxLag": k.MaxLag, "connected": k.Connected})
		}
		return obj{"ok": true, "lastSequence": r.LastSequence, "consumers": list}
	case "close":
		if d.client != nil {
			d.client.Close()
			d.client = nil
		}
		d.subs = map[string]*wirebus.Subscription{}
		return obj{"ok": true}
	}
	return fail(-1, "CLIENT", "unknown command "+c.Cmd)
}
