package wirebus

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// FrameType is the type byte of a frame (docs/protocol.md §5).
type FrameType uint8

// Frame types.
const (
	TypeHello             FrameType = 0x01
	TypeWelcome           FrameType = 0x02
	TypePing              FrameType = 0x03
	TypePong              FrameType = 0x04
	TypeGoAway            FrameType = 0x05
	TypeError             FrameType = 0x06
	TypeOK                FrameType = 0x07
	TypePublish           FrameType = 0x10
	TypePublishBatch      FrameType = 0x11
	TypePublishAck        FrameType = 0x12
	TypePublishIdempotent FrameType = 0x13
	TypeSubscribe         FrameType = 0x20
	TypeSubscribed        FrameType = 0x21
	TypeDeliver           FrameType = 0x22
	TypeCredit            FrameType = 0x23
	TypeUnsubscribe       FrameType = 0x24
	TypeSubscriptionClose FrameType = 0x25
	TypeConsume           FrameType = 0x26
	TypeAck               FrameType = 0x27
	TypeConsumers         FrameType = 0x28
	TypeConsumerList      FrameType = 0x29
	TypeFetch             FrameType = 0x2a
	TypeFetched           FrameType = 0x2b
	TypeRequest           FrameType = 0x30
	TypeResponse          FrameType = 0x31
	TypeRespondOn         FrameType = 0x32
	TypeRespondOff        FrameType = 0x33
	// added to version 2 later (issue 13): authentication and administration
	TypeAuth           FrameType = 0x08
	TypeAuthOK         FrameType = 0x09
	TypeStreams        FrameType = 0x40
	TypeStreamList     FrameType = 0x41
	TypeDeleteStream   FrameType = 0x42
	TypeTrimStream     FrameType = 0x43
	TypeDeleteConsumer FrameType = 0x44
)

var frameTypeNames = map[FrameType]string{
	TypeHello: "HELLO", TypeWelcome: "WELCOME", TypePing: "PING", TypePong: "PONG", TypeGoAway: "GOAWAY",
	TypeError: "ERROR", TypeOK: "OK", TypePublish: "PUBLISH", TypePublishBatch: "PUBLISH_BATCH",
	TypePublishAck: "PUBLISH_ACK", TypePublishIdempotent: "PUBLISH_IDEMPOTENT", TypeSubscribe: "SUBSCRIBE",
	TypeSubscribed: "SUBSCRIBED", TypeDeliver: "DELIVER", TypeCredit: "CREDIT", TypeUnsubscribe: "UNSUBSCRIBE",
	TypeSubscriptionClose: "SUBSCRIPTION_CLOSED", TypeConsume: "CONSUME", TypeAck: "ACK",
	TypeConsumers: "CONSUMERS", TypeConsumerList: "CONSUMER_LIST", TypeFetch: "FETCH", TypeFetched: "FETCHED",
	TypeRequest: "REQUEST", TypeResponse: "RESPONSE", TypeRespondOn: "RESPOND_ON", TypeRespondOff: "RESPOND_OFF",
	TypeAuth: "AUTH", TypeAuthOK: "AUTH_OK", TypeStreams: "STREAMS", TypeStreamList: "STREAM_LIST",
	TypeDeleteStream: "DELETE_STREAM", TypeTrimStream: "TRIM_STREAM", TypeDeleteConsumer: "DELETE_CONSUMER",
}

func (t FrameType) String() string {
	if n, ok := frameTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("0x%02x", uint8(t))
}

// FrameTypeByName returns the frame type named as in docs/protocol.md ("PUBLISH_ACK").
func FrameTypeByName(name string) (FrameType, bool) {
	for t, n := range frameTypeNames {
		if n == name {
			return t, true
		}
	}
	return 0, false
}

// Protocol constants.
const (
	Magic                       = 0x57425553 // "WBUS"
	MinProtocolVersion          = 1
	MaxProtocolVersion          = 2
	DefaultMaxFrameLength       = 8 * 1024 * 1024
	headerLen                   = 10 // after the length field: type, flags, request id
	prefixLen                   = 4 + headerLen
	maxU31                      = 1<<31 - 1
	maxU63                      = 1<<63 - 1
	maxStringBytes              = 65535
	flagDuplicate               = 0x01
	StartEarliest         uint8 = 0
	StartLatest           uint8 = 1
	StartSequence         uint8 = 2
	AckOnDelivery         uint8 = 0
	AckExplicit           uint8 = 1
)

// Error field keys of ERROR and SUBSCRIPTION_CLOSED in protocol version 2.
const (
	FieldLastSequence          = 1
	FieldFirstRetainedSequence = 2
	FieldRetryAfterMillis      = 3
	FieldLastProducerSequence  = 4
	maxKnownField              = 4
)

var fieldNames = [...]string{"", "lastSequence", "firstRetainedSequence", "retryAfterMillis", "lastProducerSequence"}

// ErrorFields are the structured numbers of a version 2 ERROR or SUBSCRIPTION_CLOSED. Keys this
// client does not know are dropped when decoding; encoding writes keys in ascending order.
type ErrorFields struct {
	present uint8 // bit k: key k present
	values  [maxKnownField + 1]uint64
}

// Get returns the value under key, if present.
func (f ErrorFields) Get(key int) (uint64, bool) {
	if key < 1 || key > maxKnownField || f.present&(1<<key) == 0 {
		return 0, false
	}
	return f.values[key], true
}

// With returns the fields plus key=value (key 1..4).
func (f ErrorFields) With(key int, value uint64) ErrorFields {
	if key >= 1 && key <= maxKnownField {
		f.present |= 1 << key
		f.values[key] = value
	}
	return f
}

// Len is the number of fields present.
func (f ErrorFields) Len() int {
	n := 0
	for k := 1; k <= maxKnownField; k++ {
		if f.present&(1<<k) != 0 {
			n++
		}
	}
	return n
}

// Map returns the fields by their names in docs/protocol.md ("lastSequence").
func (f ErrorFields) Map() map[string]uint64 {
	m := map[string]uint64{}
	for k := 1; k <= maxKnownField; k++ {
		if v, ok := f.Get(k); ok {
			m[fieldNames[k]] = v
		}
	}
	return m
}

// ErrorFieldKey returns the key of a field name, or -1.
func ErrorFieldKey(name string) int {
	for k := 1; k <= maxKnownField; k++ {
		if fieldNames[k] == name {
			return k
		}
	}
	return -1
}

// ConsumerEntry is one durable consumer in a CONSUMER_LIST frame.
type ConsumerEntry struct {
	Name          string
	AckedSequence uint64
	MaxLag        uint32
	Connected     bool
}

// StreamEntry is one stream in a STREAM_LIST frame.
type StreamEntry struct {
	Name          string
	FirstSequence uint64
	LastSequence  uint64 // 0 when empty
	Bytes         uint64 // approximate
	Consumers     uint32 // durable consumers
}

// Frame is any wirebus frame: the header plus the fields its type uses (the others are zero).
// Byte slices of a decoded frame point into the buffer it was decoded from.
type Frame struct {
	Type      FrameType
	Flags     uint8
	RequestID uint64

	MinVersion, MaxVersion uint16 // HELLO
	Version                uint16 // WELCOME
	MaxFrameLength         uint32 // WELCOME
	StoreID                uint64 // WELCOME
	Name                   string // HELLO clientName, WELCOME serverName

	Code    uint16      // GOAWAY, ERROR, SUBSCRIPTION_CLOSED
	Message string      // GOAWAY, ERROR, SUBSCRIPTION_CLOSED
	Fields  ErrorFields // ERROR, SUBSCRIPTION_CLOSED (version 2)

	Stream           string
	ExpectedSequence uint64
	Payload          []byte   // PUBLISH, REQUEST, RESPONSE
	Records          [][]byte // PUBLISH_BATCH, PUBLISH_IDEMPOTENT, DELIVER, FETCHED
	ProducerID       string
	ProducerSequence uint64
	FirstSequence    uint64 // PUBLISH_ACK, DELIVER, FETCHED
	Count            uint32 // PUBLISH_ACK

	SubscriptionID uint32
	StartKind      uint8
	StartSequence  uint64
	Credits        uint32
	Consumer       string
	AckMode        uint8
	MaxLag         uint32
	Resume         uint8
	Sequence       uint64 // ACK

	LastSequence      uint64 // CONSUMER_LIST, FETCHED
	HeldPublishes     uint32
	HeldMillis        uint64
	RejectedPublishes uint64
	Consumers         []ConsumerEntry

	FromSequence  uint64 // FETCH
	MaxMessages   uint32 // FETCH
	Subject       string // REQUEST, RESPOND_ON, RESPOND_OFF
	TimeoutMillis uint32 // REQUEST

	Mechanism       string        // AUTH ("bearer")
	Credential      []byte        // AUTH
	Principal       string        // AUTH_OK
	ExpiresAtMillis uint64        // AUTH_OK (epoch ms, 0 = never)
	After           string        // STREAMS
	Max             uint32        // STREAMS
	Streams         []StreamEntry // STREAM_LIST
	More            bool          // STREAM_LIST
	BeforeSequence  uint64        // TRIM_STREAM
}

// Duplicate reports the DUPLICATE flag of a PUBLISH_ACK.
func (f *Frame) Duplicate() bool { return f.Type == TypePublishAck && f.Flags&flagDuplicate != 0 }

// ProtocolError is input that does not parse as a frame: Code is MALFORMED_FRAME,
// FRAME_TOO_LARGE or UNKNOWN_FRAME_TYPE, RequestID the bad frame's (0 when it could not be read).
type ProtocolError struct {
	Code      Code
	RequestID uint64
	Detail    string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("%s (request id %d): %s", e.Code, e.RequestID, e.Detail)
}

func malformed(id uint64, format string, args ...interface{}) *ProtocolError {
	return &ProtocolError{Code: CodeMalformedFrame, RequestID: id, Detail: fmt.Sprintf(format, args...)}
}

// ---------------------------------------------------------------- encoding

func putU16(b []byte, v uint16) []byte { return append(b, byte(v>>8), byte(v)) }
func putU32(b []byte, v uint32) []byte {
	return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
func putU64(b []byte, v uint64) []byte {
	return append(b, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func putString(b []byte, s string) []byte {
	b = putU16(b, uint16(len(s)))
	return append(b, s...)
}

func putRecords(b []byte, records [][]byte) []byte {
	b = putU32(b, uint32(len(records)))
	for _, r := range records {
		b = putU32(b, uint32(len(r)))
		b = append(b, r...)
	}
	return b
}

func putFields(b []byte, f ErrorFields) []byte {
	b = append(b, byte(f.Len()))
	for k := 1; k <= maxKnownField; k++ {
		if v, ok := f.Get(k); ok {
			b = append(b, byte(k))
			b = putU64(b, v)
		}
	}
	return b
}

// EncodeError is a frame that cannot be encoded (a string over 65535 bytes, a number out of range).
type EncodeError struct{ Detail string }

func (e *EncodeError) Error() string { return "cannot encode frame: " + e.Detail }

func checkFrame(f *Frame) error {
	for _, s := range [...]string{f.Name, f.Message, f.Stream, f.ProducerID, f.Consumer, f.Subject, f.Mechanism,
		f.Principal, f.After} {
		if len(s) > maxStringBytes {
			return &EncodeError{fmt.Sprintf("a string of %d bytes exceeds %d", len(s), maxStringBytes)}
		}
	}
	for _, v := range [...]uint64{f.ExpectedSequence, f.ProducerSequence, f.FirstSequence, f.StartSequence,
		f.FromSequence, f.StoreID, f.ExpiresAtMillis, f.BeforeSequence} {
		if v > maxU63 {
			return &EncodeError{fmt.Sprintf("sequence %d exceeds 2^63-1", v)}
		}
	}
	if len(f.Credential) > maxU31 {
		return &EncodeError{"credential longer than 2^31-1 bytes"}
	}
	for _, v := range [...]uint32{f.MaxFrameLength, f.Count, f.Credits, f.TimeoutMillis, f.MaxMessages, f.MaxLag,
		f.HeldPublishes, f.Max} {
		if v > maxU31 {
			return &EncodeError{fmt.Sprintf("value %d exceeds 2^31-1", v)}
		}
	}
	return nil
}

// AppendFrame appends the encoding of f (length field included) to dst. version (1 or 2) decides
// the form of ERROR and SUBSCRIPTION_CLOSED.
func AppendFrame(dst []byte, f *Frame, version int) ([]byte, error) {
	if err := checkFrame(f); err != nil {
		return dst, err
	}
	start := len(dst)
	b := append(dst, 0, 0, 0, 0, byte(f.Type), f.Flags)
	b = putU64(b, f.RequestID)
	switch f.Type {
	case TypeHello:
		b = putU32(b, Magic)
		b = putU16(b, f.MinVersion)
		b = putU16(b, f.MaxVersion)
		b = putString(b, f.Name)
	case TypeWelcome:
		b = putU16(b, f.Version)
		b = putU32(b, f.MaxFrameLength)
		b = putU64(b, f.StoreID)
		b = putString(b, f.Name)
	case TypePing, TypePong, TypeOK:
	case TypeGoAway:
		b = putU16(b, f.Code)
		b = putString(b, f.Message)
	case TypeError:
		b = putU16(b, f.Code)
		b = putString(b, f.Message)
		if version >= 2 {
			b = putFields(b, f.Fields)
		}
	case TypePublish:
		b = putString(b, f.Stream)
		b = putU64(b, f.ExpectedSequence)
		b = append(b, f.Payload...)
	case TypePublishBatch:
		b = putString(b, f.Stream)
		b = putU64(b, f.ExpectedSequence)
		b = putRecords(b, f.Records)
	case TypePublishIdempotent:
		b = putString(b, f.Stream)
		b = putU64(b, f.ExpectedSequence)
		b = putString(b, f.ProducerID)
		b = putU64(b, f.ProducerSequence)
		b = putRecords(b, f.Records)
	case TypePublishAck:
		b = putU64(b, f.FirstSequence)
		b = putU32(b, f.Count)
	case TypeSubscribe:
		b = putU32(b, f.SubscriptionID)
		b = putString(b, f.Stream)
		b = append(b, f.StartKind)
		b = putU64(b, f.StartSequence)
		b = putU32(b, f.Credits)
	case TypeSubscribed:
		b = putU32(b, f.SubscriptionID)
		b = putU64(b, f.StartSequence)
	case TypeDeliver:
		b = putU32(b, f.SubscriptionID)
		b = putString(b, f.Stream)
		b = putU64(b, f.FirstSequence)
		b = putRecords(b, f.Records)
	case TypeCredit:
		b = putU32(b, f.SubscriptionID)
		b = putU32(b, f.Credits)
	case TypeUnsubscribe:
		b = putU32(b, f.SubscriptionID)
	case TypeSubscriptionClose:
		b = putU32(b, f.SubscriptionID)
		b = putU16(b, f.Code)
		b = putString(b, f.Message)
		if version >= 2 {
			b = putFields(b, f.Fields)
		}
	case TypeConsume:
		b = putU32(b, f.SubscriptionID)
		b = putString(b, f.Stream)
		b = putString(b, f.Consumer)
		b = append(b, f.StartKind)
		b = putU64(b, f.StartSequence)
		b = putU32(b, f.Credits)
		b = append(b, f.AckMode)
		b = putU32(b, f.MaxLag)
		b = append(b, f.Resume)
	case TypeAck:
		b = putU32(b, f.SubscriptionID)
		b = putU64(b, f.Sequence)
	case TypeConsumers:
		b = putString(b, f.Stream)
	case TypeConsumerList:
		b = putU64(b, f.LastSequence)
		b = putU32(b, f.HeldPublishes)
		b = putU64(b, f.HeldMillis)
		b = putU64(b, f.RejectedPublishes)
		b = putU32(b, uint32(len(f.Consumers)))
		for _, c := range f.Consumers {
			b = putString(b, c.Name)
			b = putU64(b, c.AckedSequence)
			b = putU32(b, c.MaxLag)
			if c.Connected {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		}
	case TypeFetch:
		b = putString(b, f.Stream)
		b = putU64(b, f.FromSequence)
		b = putU32(b, f.MaxMessages)
	case TypeFetched:
		b = putU64(b, f.LastSequence)
		b = putU64(b, f.FirstSequence)
		b = putRecords(b, f.Records)
	case TypeRequest:
		b = putString(b, f.Subject)
		b = putU32(b, f.TimeoutMillis)
		b = append(b, f.Payload...)
	case TypeResponse:
		b = append(b, f.Payload...)
	case TypeRespondOn, TypeRespondOff:
		b = putString(b, f.Subject)
	case TypeAuth:
		b = putString(b, f.Mechanism)
		b = putU32(b, uint32(len(f.Credential)))
		b = append(b, f.Credential...)
	case TypeAuthOK:
		b = putString(b, f.Principal)
		b = putU64(b, f.ExpiresAtMillis)
	case TypeStreams:
		b = putString(b, f.After)
		b = putU32(b, f.Max)
	case TypeStreamList:
		b = putU32(b, uint32(len(f.Streams)))
		for _, e := range f.Streams {
			if len(e.Name) > maxStringBytes || e.FirstSequence > maxU63 || e.LastSequence > maxU63 || e.Bytes > maxU63 || e.Consumers > maxU31 {
				return dst, &EncodeError{"stream entry out of range"}
			}
			b = putString(b, e.Name)
			b = putU64(b, e.FirstSequence)
			b = putU64(b, e.LastSequence)
			b = putU64(b, e.Bytes)
			b = putU32(b, e.Consumers)
		}
		if f.More {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	case TypeDeleteStream:
		b = putString(b, f.Stream)
	case TypeTrimStream:
		b = putString(b, f.Stream)
		b = putU64(b, f.BeforeSequence)
	case TypeDeleteConsumer:
		b = putString(b, f.Stream)
		b = putString(b, f.Consumer)
	default:
		return dst, &EncodeError{"unknown frame type " + f.Type.String()}
	}
	n := len(b) - start - 4
	if uint64(n) > 0xffffffff {
		return dst, &EncodeError{"frame too long"}
	}
	binary.BigEndian.PutUint32(b[start:], uint32(n))
	return b, nil
}

// EncodeFrame returns the encoding of f.
func EncodeFrame(f *Frame, version int) ([]byte, error) { return AppendFrame(nil, f, version) }

// ---------------------------------------------------------------- decoding

type parser struct {
	b   []byte
	pos int
	id  uint64
	err *ProtocolError
}

func (p *parser) need(n int, what string) bool {
	if p.err != nil {
		return false
	}
	if len(p.b)-p.pos < n {
		p.err = malformed(p.id, "%s runs past the end of the frame", what)
		return false
	}
	return true
}

func (p *parser) u8(what string) uint8 {
	if !p.need(1, what) {
		return 0
	}
	v := p.b[p.pos]
	p.pos++
	return v
}

func (p *parser) u16(what string) uint16 {
	if !p.need(2, what) {
		return 0
	}
	v := binary.BigEndian.Uint16(p.b[p.pos:])
	p.pos += 2
	return v
}

func (p *parser) u32(what string) uint32 {
	if !p.need(4, what) {
		return 0
	}
	v := binary.BigEndian.Uint32(p.b[p.pos:])
	p.pos += 4
	return v
}

func (p *parser) u31(what string) uint32 {
	v := p.u32(what)
	if v > maxU31 && p.err == nil {
		p.err = malformed(p.id, "%s %d exceeds 2^31-1", what, v)
	}
	return v
}

func (p *parser) u64(what string) uint64 {
	if !p.need(8, what) {
		return 0
	}
	v := binary.BigEndian.Uint64(p.b[p.pos:])
	p.pos += 8
	return v
}

func (p *parser) u63(what string) uint64 {
	v := p.u64(what)
	if v > maxU63 && p.err == nil {
		p.err = malformed(p.id, "%s has the top bit set", what)
	}
	return v
}

func (p *parser) str(what string) string {
	n := int(p.u16(what + " length"))
	if !p.need(n, what) {
		return ""
	}
	s := p.b[p.pos : p.pos+n]
	p.pos += n
	if !utf8.Valid(s) {
		p.err = malformed(p.id, "%s is not valid UTF-8", what)
		return ""
	}
	return string(s)
}

func (p *parser) rest() []byte {
	if p.err != nil {
		return nil
	}
	r := p.b[p.pos:]
	p.pos = len(p.b)
	return r
}

func (p *parser) records() [][]byte {
	count := p.u32("record count")
	if p.err != nil {
		return nil
	}
	if uint64(count)*4 > uint64(len(p.b)-p.pos) {
		p.err = malformed(p.id, "record count %d cannot fit in the frame", count)
		return nil
	}
	out := make([][]byte, count)
	for i := range out {
		l := p.u32("record length")
		if p.err != nil {
			return nil
		}
		if l > maxU31 {
			p.err = malformed(p.id, "record length %d exceeds 2^31-1", l)
			return nil
		}
		if !p.need(int(l), "record") {
			return nil
		}
		out[i] = p.b[p.pos : p.pos+int(l) : p.pos+int(l)]
		p.pos += int(l)
	}
	return out
}

func (p *parser) fields() ErrorFields {
	var f ErrorFields
	n := int(p.u8("field count"))
	var seen uint32
	for i := 0; i < n && p.err == nil; i++ {
		k := p.u8("field key")
		v := p.u63("field value")
		if p.err != nil {
			break
		}
		if k < 32 {
			if seen&(1<<k) != 0 {
				p.err = malformed(p.id, "error field key %d appears twice", k)
				break
			}
			seen |= 1 << k
		}
		f = f.With(int(k), v)
	}
	return f
}

// DecodeFrame decodes one whole frame (length field included, nothing after it). version (1 or
// 2) decides the form of ERROR and SUBSCRIPTION_CLOSED. It does not check the length against a
// maximum: FrameReader does that.
func DecodeFrame(b []byte, version int) (*Frame, error) {
	if len(b) < 4 {
		return nil, malformed(0, "frame shorter than its length field")
	}
	n := binary.BigEndian.Uint32(b)
	if n < headerLen {
		return nil, malformed(0, "length %d is below the 10-byte header", n)
	}
	if uint64(len(b)-4) != uint64(n) {
		return nil, malformed(0, "length field says %d bytes, %d follow", n, len(b)-4)
	}
	return decodeBody(b[4:], version)
}

// decodeBody decodes a frame without its length field.
func decodeBody(b []byte, version int) (*Frame, error) {
	f := &Frame{Type: FrameType(b[0]), Flags: b[1], RequestID: binary.BigEndian.Uint64(b[2:10])}
	p := &parser{b: b, pos: headerLen, id: f.RequestID}
	switch f.Type {
	case TypeHello:
		if m := p.u32("magic"); p.err == nil && m != Magic {
			return nil, malformed(f.RequestID, "bad magic 0x%08x", m)
		}
		f.MinVersion = p.u16("minVersion")
		f.MaxVersion = p.u16("maxVersion")
		f.Name = p.str("clientName")
	case TypeWelcome:
		f.Version = p.u16("version")
		f.MaxFrameLength = p.u31("maxFrameLength")
		f.StoreID = p.u63("storeId")
		f.Name = p.str("serverName")
	case TypePing, TypePong, TypeOK:
	case TypeGoAway:
		f.Code = p.u16("code")
		f.Message = p.str("message")
	case TypeError:
		f.Code = p.u16("code")
		f.Message = p.str("message")
		if version >= 2 {
			f.Fields = p.fields()
		}
	case TypePublish:
		f.Stream = p.str("stream")
		f.ExpectedSequence = p.u63("expectedSequence")
		f.Payload = p.rest()
	case TypePublishBatch:
		f.Stream = p.str("stream")
		f.ExpectedSequence = p.u63("expectedSequence")
		f.Records = p.records()
	case TypePublishIdempotent:
		f.Stream = p.str("stream")
		f.ExpectedSequence = p.u63("expectedSequence")
		f.ProducerID = p.str("producerId")
		f.ProducerSequence = p.u63("producerSequence")
		f.Records = p.records()
	case TypePublishAck:
		f.FirstSequence = p.u63("firstSequence")
		f.Count = p.u31("count")
	case TypeSubscribe:
		f.SubscriptionID = p.u32("subscriptionId")
		f.Stream = p.str("stream")
		f.StartKind = p.u8("startKind")
		if p.err == nil && f.StartKind > StartSequence {
			return nil, malformed(f.RequestID, "startKind %d is not 0, 1 or 2", f.StartKind)
		}
		f.StartSequence = p.u63("startSequence")
		f.Credits = p.u31("credits")
	case TypeSubscribed:
		f.SubscriptionID = p.u32("subscriptionId")
		f.StartSequence = p.u63("startSequence")
	case TypeDeliver:
		f.SubscriptionID = p.u32("subscriptionId")
		f.Stream = p.str("stream")
		f.FirstSequence = p.u63("firstSequence")
		f.Records = p.records()
	case TypeCredit:
		f.SubscriptionID = p.u32("subscriptionId")
		f.Credits = p.u31("credits")
	case TypeUnsubscribe:
		f.SubscriptionID = p.u32("subscriptionId")
	case TypeSubscriptionClose:
		f.SubscriptionID = p.u32("subscriptionId")
		f.Code = p.u16("code")
		f.Message = p.str("message")
		if version >= 2 {
			f.Fields = p.fields()
		}
	case TypeConsume:
		f.SubscriptionID = p.u32("subscriptionId")
		f.Stream = p.str("stream")
		f.Consumer = p.str("consumer")
		f.StartKind = p.u8("startKind")
		if p.err == nil && f.StartKind > StartSequence {
			return nil, malformed(f.RequestID, "startKind %d is not 0, 1 or 2", f.StartKind)
		}
		f.StartSequence = p.u63("startSequence")
		f.Credits = p.u31("credits")
		f.AckMode = p.u8("ackMode")
		if p.err == nil && f.AckMode > AckExplicit {
			return nil, malformed(f.RequestID, "ackMode %d is not 0 or 1", f.AckMode)
		}
		f.MaxLag = p.u31("maxLag")
		f.Resume = p.u8("resume")
		if p.err == nil && f.Resume > 1 {
			return nil, malformed(f.RequestID, "resume %d is not 0 or 1", f.Resume)
		}
	case TypeAck:
		f.SubscriptionID = p.u32("subscriptionId")
		f.Sequence = p.u63("sequence")
	case TypeConsumers:
		f.Stream = p.str("stream")
	case TypeConsumerList:
		f.LastSequence = p.u63("lastSequence")
		f.HeldPublishes = p.u31("heldPublishes")
		f.HeldMillis = p.u63("heldMillis")
		f.RejectedPublishes = p.u63("rejectedPublishes")
		count := p.u32("consumer count")
		if p.err == nil && uint64(count)*15 > uint64(len(b)-p.pos) {
			return nil, malformed(f.RequestID, "consumer count %d cannot fit in the frame", count)
		}
		for i := uint32(0); i < count && p.err == nil; i++ {
			var c ConsumerEntry
			c.Name = p.str("consumer name")
			c.AckedSequence = p.u63("ackedSequence")
			c.MaxLag = p.u31("maxLag")
			c.Connected = p.u8("connected") != 0
			f.Consumers = append(f.Consumers, c)
		}
	case TypeFetch:
		f.Stream = p.str("stream")
		f.FromSequence = p.u63("fromSequence")
		f.MaxMessages = p.u31("maxMessages")
	case TypeFetched:
		f.LastSequence = p.u63("lastSequence")
		f.FirstSequence = p.u63("firstSequence")
		f.Records = p.records()
	case TypeRequest:
		f.Subject = p.str("subject")
		f.TimeoutMillis = p.u31("timeoutMillis")
		f.Payload = p.rest()
	case TypeResponse:
		f.Payload = p.rest()
	case TypeRespondOn, TypeRespondOff:
		f.Subject = p.str("subject")
	case TypeAuth:
		f.Mechanism = p.str("mechanism")
		n := p.u31("credentialLength")
		if p.need(int(n), "credential") {
			f.Credential = p.b[p.pos : p.pos+int(n) : p.pos+int(n)]
			p.pos += int(n)
		}
	case TypeAuthOK:
		f.Principal = p.str("principal")
		f.ExpiresAtMillis = p.u63("expiresAtMillis")
	case TypeStreams:
		f.After = p.str("after")
		f.Max = p.u31("max")
	case TypeStreamList:
		count := p.u32("stream count")
		if p.err == nil && uint64(count)*30 > uint64(len(b)-p.pos) {
			return nil, malformed(f.RequestID, "stream count %d cannot fit in the frame", count)
		}
		for i := uint32(0); i < count && p.err == nil; i++ {
			var e StreamEntry
			e.Name = p.str("stream name")
			e.FirstSequence = p.u63("firstSequence")
			e.LastSequence = p.u63("lastSequence")
			e.Bytes = p.u63("bytes")
			e.Consumers = p.u31("consumers")
			f.Streams = append(f.Streams, e)
		}
		more := p.u8("more")
		if p.err == nil && more > 1 {
			return nil, malformed(f.RequestID, "more %d is not 0 or 1", more)
		}
		f.More = more == 1
	case TypeDeleteStream:
		f.Stream = p.str("stream")
	case TypeTrimStream:
		f.Stream = p.str("stream")
		f.BeforeSequence = p.u63("beforeSequence")
	case TypeDeleteConsumer:
		f.Stream = p.str("stream")
		f.Consumer = p.str("consumer")
	default:
		return nil, &ProtocolError{Code: CodeUnknownFrameType, RequestID: f.RequestID,
			Detail: fmt.Sprintf("frame type 0x%02x is not assigned", b[0])}
	}
	if p.err != nil {
		return nil, p.err
	}
	if p.pos != len(b) {
		return nil, malformed(f.RequestID, "%d bytes after the last field of %s", len(b)-p.pos, f.Type)
	}
	return f, nil
}

// FrameReader reads frames from a byte stream, checking each length field against MaxLength as
// soon as it arrives.
type FrameReader struct {
	r         *bufio.Reader
	MaxLength uint32
	Version   int
}

// NewFrameReader reads frames from r.
func NewFrameReader(r io.Reader, maxLength uint32, version int) *FrameReader {
	return &FrameReader{r: bufio.NewReaderSize(r, 64*1024), MaxLength: maxLength, Version: version}
}

// Next returns the next frame; io.EOF when the input ends between frames, a *ProtocolError for
// bad input (MALFORMED_FRAME with request id 0 when the input ends inside a frame), or the
// reader's own error.
func (fr *FrameReader) Next() (*Frame, error) {
	var lb [4]byte
	if n, err := io.ReadFull(fr.r, lb[:]); err != nil {
		if err == io.EOF && n == 0 {
			return nil, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, malformed(0, "the input ended inside a length field")
		}
		return nil, err
	}
	n := binary.BigEndian.Uint32(lb[:])
	if n > fr.MaxLength {
		return nil, &ProtocolError{Code: CodeFrameTooLarge, Detail: fmt.Sprintf("length %d exceeds the maximum %d", n, fr.MaxLength)}
	}
	if n < headerLen {
		return nil, malformed(0, "length %d is below the 10-byte header", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(fr.r, body); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
			return nil, malformed(0, "the input ended inside a frame")
		}
		return nil, err
	}
	return decodeBody(body, fr.Version)
}
