package wirebus

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
)

// vectorsPath is the repository's vectors file; WIREBUS_VECTORS may name another (for example a
// newer branch's) to check this codec against it.
var vectorsPath = func() string {
	if p := os.Getenv("WIREBUS_VECTORS"); p != "" {
		return p
	}
	return "../../docs/protocol-vectors.json"
}()

type vectorFile struct {
	Version        int               `json:"version"`
	MaxFrameLength uint32            `json:"maxFrameLength"`
	Frames         []frameVector     `json:"frames"`
	Malformed      []malformedVector `json:"malformed"`
}

type frameVector struct {
	Name       string                     `json:"name"`
	Type       string                     `json:"type"`
	Hex        string                     `json:"hex"`
	DecodeOnly bool                       `json:"decodeOnly"`
	Version    int                        `json:"version"`
	Fields     map[string]json.RawMessage `json:"fields"`
}

type malformedVector struct {
	Name       string `json:"name"`
	Hex        string `json:"hex"`
	Error      string `json:"error"`
	RequestID  uint64 `json:"requestId"`
	EndOfInput bool   `json:"endOfInput"`
	Version    int    `json:"version"`
}

func loadVectors(t *testing.T) *vectorFile {
	t.Helper()
	data, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatalf("reading %s: %v", vectorsPath, err)
	}
	var v vectorFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("parsing %s: %v", vectorsPath, err)
	}
	if len(v.Frames) == 0 || len(v.Malformed) == 0 {
		t.Fatalf("%s has %d frames and %d malformed vectors", vectorsPath, len(v.Frames), len(v.Malformed))
	}
	return &v
}

// vectorVersion: a vector's own "version", else 2 for an ERROR/SUBSCRIPTION_CLOSED that lists
// error fields, else 1.
func (v *frameVector) protocolVersion() int {
	if v.Version != 0 {
		return v.Version
	}
	for _, k := range []string{"errorFields"} {
		if _, ok := v.Fields[k]; ok {
			return 2
		}
	}
	return 1
}

// frameToMap renders a decoded frame with the vectors' field names, for the fields of its type.
func errorFieldsMap(f ErrorFields) map[string]interface{} {
	m := map[string]interface{}{}
	for k, v := range f.Map() {
		m[k] = v
	}
	return m
}

func frameToMap(f *Frame, version int) map[string]interface{} {
	m := map[string]interface{}{"requestId": f.RequestID}
	recs := func() []string {
		out := make([]string, len(f.Records))
		for i, r := range f.Records {
			out[i] = hex.EncodeToString(r)
		}
		return out
	}
	kinds := []string{"EARLIEST", "LATEST", "SEQUENCE"}
	switch f.Type {
	case TypeHello:
		m["minVersion"], m["maxVersion"], m["clientName"] = uint64(f.MinVersion), uint64(f.MaxVersion), f.Name
	case TypeWelcome:
		m["version"], m["maxFrameLength"], m["storeId"], m["serverName"] = uint64(f.Version), uint64(f.MaxFrameLength), f.StoreID, f.Name
	case TypeGoAway, TypeError:
		m["code"], m["message"], m["codeName"] = uint64(f.Code), f.Message, Known(f.Code).String()
		if f.Type == TypeError && version >= 2 {
			m["errorFields"] = errorFieldsMap(f.Fields)
		}
	case TypeSubscriptionClose:
		m["subscriptionId"], m["code"], m["message"], m["codeName"] = uint64(f.SubscriptionID), uint64(f.Code), f.Message, Known(f.Code).String()
		if version >= 2 {
			m["errorFields"] = errorFieldsMap(f.Fields)
		}
	case TypePublish:
		m["stream"], m["expectedSequence"], m["payloadHex"] = f.Stream, f.ExpectedSequence, hex.EncodeToString(f.Payload)
	case TypePublishBatch:
		m["stream"], m["expectedSequence"], m["recordsHex"] = f.Stream, f.ExpectedSequence, recs()
	case TypePublishIdempotent:
		m["stream"], m["expectedSequence"], m["producerId"], m["producerSequence"], m["recordsHex"] = f.Stream, f.ExpectedSequence, f.ProducerID, f.ProducerSequence, recs()
	case TypePublishAck:
		m["firstSequence"], m["count"], m["duplicate"] = f.FirstSequence, uint64(f.Count), f.Duplicate()
	case TypeSubscribe:
		m["subscriptionId"], m["stream"], m["startKind"], m["startSequence"], m["credits"] = uint64(f.SubscriptionID), f.Stream, kinds[f.StartKind], f.StartSequence, uint64(f.Credits)
	case TypeSubscribed:
		m["subscriptionId"], m["startSequence"] = uint64(f.SubscriptionID), f.StartSequence
	case TypeDeliver:
		m["subscriptionId"], m["stream"], m["firstSequence"], m["recordsHex"] = uint64(f.SubscriptionID), f.Stream, f.FirstSequence, recs()
	case TypeCredit:
		m["subscriptionId"], m["credits"] = uint64(f.SubscriptionID), uint64(f.Credits)
	case TypeUnsubscribe:
		m["subscriptionId"] = uint64(f.SubscriptionID)
	case TypeConsume:
		m["subscriptionId"], m["stream"], m["consumer"], m["startKind"], m["startSequence"] = uint64(f.SubscriptionID), f.Stream, f.Consumer, kinds[f.StartKind], f.StartSequence
		m["credits"], m["ackMode"], m["maxLag"], m["resume"] = uint64(f.Credits), uint64(f.AckMode), uint64(f.MaxLag), uint64(f.Resume)
	case TypeAck:
		m["subscriptionId"], m["sequence"] = uint64(f.SubscriptionID), f.Sequence
	case TypeConsumers:
		m["stream"] = f.Stream
	case TypeConsumerList:
		m["lastSequence"], m["heldPublishes"], m["heldMillis"], m["rejectedPublishes"] = f.LastSequence, uint64(f.HeldPublishes), f.HeldMillis, f.RejectedPublishes
		cs := []interface{}{}
		for _, c := range f.Consumers {
			cs = append(cs, map[string]interface{}{"name": c.Name, "ackedSequence": c.AckedSequence, "maxLag": uint64(c.MaxLag), "connected": c.Connected})
		}
		m["consumers"] = cs
	case TypeFetch:
		m["stream"], m["fromSequence"], m["maxMessages"] = f.Stream, f.FromSequence, uint64(f.MaxMessages)
	case TypeFetched:
		m["lastSequence"], m["firstSequence"], m["recordsHex"] = f.LastSequence, f.FirstSequence, recs()
	case TypeRequest:
		m["subject"], m["timeoutMillis"], m["payloadHex"] = f.Subject, uint64(f.TimeoutMillis), hex.EncodeToString(f.Payload)
	case TypeResponse:
		m["payloadHex"] = hex.EncodeToString(f.Payload)
	case TypeRespondOn, TypeRespondOff:
		m["subject"] = f.Subject
	case TypeAuth:
		m["mechanism"], m["credentialHex"] = f.Mechanism, hex.EncodeToString(f.Credential)
	case TypeAuthOK:
		m["principal"], m["expiresAtMillis"] = f.Principal, f.ExpiresAtMillis
	case TypeStreams:
		m["after"], m["max"] = f.After, uint64(f.Max)
	case TypeStreamList:
		ss := []interface{}{}
		for _, e := range f.Streams {
			ss = append(ss, map[string]interface{}{"name": e.Name, "firstSequence": e.FirstSequence, "lastSequence": e.LastSequence, "bytes": e.Bytes, "consumers": uint64(e.Consumers)})
		}
		m["streams"], m["more"] = ss, f.More
	case TypeDeleteStream:
		m["stream"] = f.Stream
	case TypeTrimStream:
		m["stream"], m["beforeSequence"] = f.Stream, f.BeforeSequence
	case TypeDeleteConsumer:
		m["stream"], m["consumer"] = f.Stream, f.Consumer
	}
	return m
}

// normalize turns a vector's JSON field into the shape frameToMap gives: numbers as uint64,
// startKind as a name, consumer entries "name acked maxLag connected" as objects.
func normalize(key string, raw json.RawMessage) (interface{}, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v interface{}
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return norm(key, v)
}

func norm(key string, v interface{}) (interface{}, error) {
	switch x := v.(type) {
	case json.Number:
		if key == "startKind" {
			n, err := x.Int64()
			if err != nil || n < 0 || n > 2 {
				return nil, fmt.Errorf("startKind %v", x)
			}
			return []string{"EARLIEST", "LATEST", "SEQUENCE"}[n], nil
		}
		var u uint64
		if _, err := fmt.Sscan(string(x), &u); err != nil {
			return nil, fmt.Errorf("%s: %v", key, err)
		}
		return u, nil
	case []interface{}:
		out := []interface{}{}
		if key == "recordsHex" {
			ss := make([]string, len(x))
			for i, e := range x {
				ss[i] = e.(string)
			}
			return ss, nil
		}
		for _, e := range x {
			if s, ok := e.(string); ok && key == "consumers" {
				parts := strings.Fields(s)
				if len(parts) != 4 {
					return nil, fmt.Errorf("consumer entry %q", s)
				}
				var acked, lag uint64
				fmt.Sscan(parts[1], &acked)
				fmt.Sscan(parts[2], &lag)
				out = append(out, map[string]interface{}{"name": parts[0], "ackedSequence": acked, "maxLag": lag, "connected": parts[3] == "true" || parts[3] == "1"})
				continue
			}
			n, err := norm(key, e)
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
		return out, nil
	case map[string]interface{}:
		out := map[string]interface{}{}
		for k, e := range x {
			if k == "connected" {
				if n, ok := e.(json.Number); ok {
					out[k] = n.String() == "1"
					continue
				}
			}
			n, err := norm(k, e)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	}
	return v, nil
}

// mapToFrame builds a frame from a vector's fields (for the encode direction).
func mapToFrame(t *testing.T, typ FrameType, fields map[string]interface{}) *Frame {
	f := &Frame{Type: typ}
	u := func(k string) uint64 {
		if v, ok := fields[k]; ok {
			return v.(uint64)
		}
		return 0
	}
	s := func(k string) string {
		if v, ok := fields[k]; ok {
			return v.(string)
		}
		return ""
	}
	hx := func(k string) []byte {
		b, err := hex.DecodeString(s(k))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		return b
	}
	recs := func() [][]byte {
		var out [][]byte
		if v, ok := fields["recordsHex"]; ok {
			for _, r := range v.([]string) {
				b, _ := hex.DecodeString(r)
				out = append(out, b)
			}
		}
		return out
	}
	kind := func() uint8 {
		switch s("startKind") {
		case "LATEST":
			return StartLatest
		case "SEQUENCE":
			return StartSequence
		}
		return StartEarliest
	}
	errFields := func() ErrorFields {
		var ef ErrorFields
		if m, ok := fields["errorFields"].(map[string]interface{}); ok {
			for k, v := range m {
				ef = ef.With(ErrorFieldKey(k), v.(uint64))
			}
		}
		return ef
	}
	f.RequestID = u("requestId")
	switch typ {
	case TypeHello:
		f.MinVersion, f.MaxVersion, f.Name = uint16(u("minVersion")), uint16(u("maxVersion")), s("clientName")
	case TypeWelcome:
		f.Version, f.MaxFrameLength, f.StoreID, f.Name = uint16(u("version")), uint32(u("maxFrameLength")), u("storeId"), s("serverName")
	case TypeGoAway, TypeError:
		f.Code, f.Message, f.Fields = uint16(u("code")), s("message"), errFields()
	case TypeSubscriptionClose:
		f.SubscriptionID, f.Code, f.Message, f.Fields = uint32(u("subscriptionId")), uint16(u("code")), s("message"), errFields()
	case TypePublish:
		f.Stream, f.ExpectedSequence, f.Payload = s("stream"), u("expectedSequence"), hx("payloadHex")
	case TypePublishBatch:
		f.Stream, f.ExpectedSequence, f.Records = s("stream"), u("expectedSequence"), recs()
	case TypePublishIdempotent:
		f.Stream, f.ExpectedSequence, f.ProducerID, f.ProducerSequence, f.Records = s("stream"), u("expectedSequence"), s("producerId"), u("producerSequence"), recs()
	case TypePublishAck:
		f.FirstSequence, f.Count = u("firstSequence"), uint32(u("count"))
		if fields["duplicate"] == true {
			f.Flags = flagDuplicate
		}
	case TypeSubscribe:
		f.SubscriptionID, f.Stream, f.StartKind, f.StartSequence, f.Credits = uint32(u("subscriptionId")), s("stream"), kind(), u("startSequence"), uint32(u("credits"))
	case TypeSubscribed:
		f.SubscriptionID, f.StartSequence = uint32(u("subscriptionId")), u("startSequence")
	case TypeDeliver:
		f.SubscriptionID, f.Stream, f.FirstSequence, f.Records = uint32(u("subscriptionId")), s("stream"), u("firstSequence"), recs()
	case TypeCredit:
		f.SubscriptionID, f.Credits = uint32(u("subscriptionId")), uint32(u("credits"))
	case TypeUnsubscribe:
		f.SubscriptionID = uint32(u("subscriptionId"))
	case TypeConsume:
		f.SubscriptionID, f.Stream, f.Consumer, f.StartKind, f.StartSequence = uint32(u("subscriptionId")), s("stream"), s("consumer"), kind(), u("startSequence")
		f.Credits, f.AckMode, f.MaxLag, f.Resume = uint32(u("credits")), uint8(u("ackMode")), uint32(u("maxLag")), uint8(u("resume"))
	case TypeAck:
		f.SubscriptionID, f.Sequence = uint32(u("subscriptionId")), u("sequence")
	case TypeConsumers:
		f.Stream = s("stream")
	case TypeConsumerList:
		f.LastSequence, f.HeldPublishes, f.HeldMillis, f.RejectedPublishes = u("lastSequence"), uint32(u("heldPublishes")), u("heldMillis"), u("rejectedPublishes")
		for _, c := range fields["consumers"].([]interface{}) {
			cm := c.(map[string]interface{})
			f.Consumers = append(f.Consumers, ConsumerEntry{Name: cm["name"].(string), AckedSequence: cm["ackedSequence"].(uint64), MaxLag: uint32(cm["maxLag"].(uint64)), Connected: cm["connected"] == true})
		}
	case TypeFetch:
		f.Stream, f.FromSequence, f.MaxMessages = s("stream"), u("fromSequence"), uint32(u("maxMessages"))
	case TypeFetched:
		f.LastSequence, f.FirstSequence, f.Records = u("lastSequence"), u("firstSequence"), recs()
	case TypeRequest:
		f.Subject, f.TimeoutMillis, f.Payload = s("subject"), uint32(u("timeoutMillis")), hx("payloadHex")
	case TypeResponse:
		f.Payload = hx("payloadHex")
	case TypeRespondOn, TypeRespondOff:
		f.Subject = s("subject")
	case TypeAuth:
		f.Mechanism, f.Credential = s("mechanism"), hx("credentialHex")
	case TypeAuthOK:
		f.Principal, f.ExpiresAtMillis = s("principal"), u("expiresAtMillis")
	case TypeStreams:
		f.After, f.Max = s("after"), uint32(u("max"))
	case TypeStreamList:
		for _, e := range fields["streams"].([]interface{}) {
			em := e.(map[string]interface{})
			f.Streams = append(f.Streams, StreamEntry{Name: em["name"].(string), FirstSequence: em["firstSequence"].(uint64),
				LastSequence: em["lastSequence"].(uint64), Bytes: em["bytes"].(uint64), Consumers: uint32(em["consumers"].(uint64))})
		}
		f.More = fields["more"] == true
	case TypeDeleteStream:
		f.Stream = s("stream")
	case TypeTrimStream:
		f.Stream, f.BeforeSequence = s("stream"), u("beforeSequence")
	case TypeDeleteConsumer:
		f.Stream, f.Consumer = s("stream"), s("consumer")
	}
	return f
}

func TestVectorsDecodeAndEncode(t *testing.T) {
	vf := loadVectors(t)
	for _, v := range vf.Frames {
		v := v
		t.Run(v.Name, func(t *testing.T) {
			typ, ok := FrameTypeByName(v.Type)
			if !ok {
				t.Fatalf("unknown type %s", v.Type)
			}
			raw, err := hex.DecodeString(v.Hex)
			if err != nil {
				t.Fatal(err)
			}
			version := v.protocolVersion()
			want := map[string]interface{}{}
			for k, r := range v.Fields {
				n, err := normalize(k, r)
				if err != nil {
					t.Fatalf("field %s: %v", k, err)
				}
				want[k] = n
			}
			// decode: through the streaming reader, as a connection reads it
			fr := NewFrameReader(bytes.NewReader(raw), vf.MaxFrameLength, version)
			f, err := fr.Next()
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if f.Type != typ {
				t.Fatalf("decoded type %s, want %s", f.Type, typ)
			}
			if _, err := fr.Next(); err != io.EOF {
				t.Fatalf("after the frame: %v, want EOF", err)
			}
			got := frameToMap(f, version)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded\n got %v\nwant %v", got, want)
			}
			if v.DecodeOnly {
				return
			}
			enc, err := EncodeFrame(mapToFrame(t, typ, want), version)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if hex.EncodeToString(enc) != strings.ToLower(v.Hex) {
				t.Fatalf("encoded\n got %x\nwant %s", enc, v.Hex)
			}
		})
	}
}

func TestVectorsMalformed(t *testing.T) {
	vf := loadVectors(t)
	for _, v := range vf.Malformed {
		v := v
		t.Run(v.Name, func(t *testing.T) {
			raw, err := hex.DecodeString(v.Hex)
			if err != nil {
				t.Fatal(err)
			}
			version := v.Version // a vector without one is version 1
			if version == 0 {
				version = 1
			}
			fr := NewFrameReader(bytes.NewReader(raw), vf.MaxFrameLength, version)
			var perr *ProtocolError
			for i := 0; ; i++ {
				_, err := fr.Next()
				if err == nil {
					continue
				}
				if err == io.EOF {
					t.Fatalf("input ended after %d good frames without an error, want %s", i, v.Error)
				}
				if !errors.As(err, &perr) {
					t.Fatalf("error %v is not a ProtocolError", err)
				}
				break
			}
			if perr.Code.String() != v.Error || perr.RequestID != v.RequestID {
				t.Fatalf("got %s with request id %d (%s), want %s with %d", perr.Code, perr.RequestID, perr.Detail, v.Error, v.RequestID)
			}
		})
	}
}

func TestErrorFieldsRoundTripV2(t *testing.T) {
	f := &Frame{Type: TypeError, RequestID: 7, Code: uint16(CodeSequenceMismatch), Message: "m",
		Fields: ErrorFields{}.With(FieldLastSequence, 40).With(FieldRetryAfterMillis, 5)}
	b, err := EncodeFrame(f, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := "0000002206000000000000000007000a00016d02" + "010000000000000028" + "030000000000000005"
	if hex.EncodeToString(b) != want {
		t.Fatalf("got %x want %s", b, want)
	}
	g, err := DecodeFrame(b, 2)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := g.Fields.Get(FieldLastSequence); !ok || v != 40 {
		t.Fatalf("lastSequence %d %v", v, ok)
	}
	// unknown keys are ignored; u64 values with the top bit set are malformed; v1 has no fields
	unknown, _ := hex.DecodeString("0000001906000000000000000007000a00016d01" + "090000000000000001")
	if g, err := DecodeFrame(unknown, 2); err != nil || g.Fields.Len() != 0 {
		t.Fatalf("unknown key: %v %v", g, err)
	}
	top, _ := hex.DecodeString("0000001906000000000000000007000a00016d01" + "018000000000000001")
	var pe *ProtocolError
	if _, err := DecodeFrame(top, 2); !errors.As(err, &pe) || pe.Code != CodeMalformedFrame || pe.RequestID != 7 {
		t.Fatalf("top bit: %v", err)
	}
	if _, err := DecodeFrame(b, 1); !errors.As(err, &pe) || pe.Code != CodeMalformedFrame {
		t.Fatalf("v2 bytes read as v1: %v", err)
	}
	// SUBSCRIPTION_CLOSED carries the same fields
	sc := &Frame{Type: TypeSubscriptionClose, SubscriptionID: 1, Code: uint16(CodeSequenceNotRetained), Message: "x",
		Fields: ErrorFields{}.With(FieldFirstRetainedSequence, 1000)}
	b, _ = EncodeFrame(sc, 2)
	g, err = DecodeFrame(b, 2)
	if v, ok := g.Fields.Get(FieldFirstRetainedSequence); err != nil || !ok || v != 1000 {
		t.Fatalf("subscription closed fields: %v %v", g, err)
	}
}

func TestTypedErrors(t *testing.T) {
	err := errorFrom(uint16(CodeSequenceMismatch), "stream 'b' is at last sequence 40; expected 42", ErrorFields{})
	var sm *SequenceMismatchError
	if !errors.As(err, &sm) || !sm.Known || sm.LastSequence != 40 {
		t.Fatalf("v1 text fallback: %#v", err)
	}
	err = errorFrom(uint16(CodeSequenceMismatch), "no number here", ErrorFields{}.With(FieldLastSequence, 9))
	if !errors.As(err, &sm) || sm.LastSequence != 9 {
		t.Fatalf("v2 field: %#v", err)
	}
	var we *WireError
	if !errors.As(err, &we) || we.Code != CodeSequenceMismatch {
		t.Fatalf("unwrap to WireError: %#v", err)
	}
	if errors.Is(err, &WireError{Code: CodeNoResponders}) || !errors.Is(err, &WireError{Code: CodeSequenceMismatch}) {
		t.Fatal("Is by code")
	}
	if got := errorFrom(999, "x", ErrorFields{}); got.(*WireError).Code != CodeUnknown {
		t.Fatalf("unknown code: %v", got)
	}
}
