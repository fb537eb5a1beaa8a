package wirebus

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

// Code is a wire error code (docs/protocol.md §8.1). Codes this client does not know are UNKNOWN.
type Code uint16

// Error codes.
const (
	CodeUnknown               Code = 0
	CodeMalformedFrame        Code = 1
	CodeFrameTooLarge         Code = 2
	CodeUnknownFrameType      Code = 3
	CodeUnsupportedVersion    Code = 4
	CodeHandshakeRequired     Code = 5
	CodeInvalidArgument       Code = 6
	CodeSequenceMismatch      Code = 10
	CodeSequenceNotRetained   Code = 11
	CodeUnknownSubscription   Code = 12
	CodeDuplicateSubscription Code = 13
	CodeMessageTooLarge       Code = 14
	CodeProducerSequence      Code = 15
	CodeNoResponders          Code = 20
	CodeTimeout               Code = 21
	CodeResponderGone         Code = 22
	CodeResponderFailed       Code = 23
	CodeShuttingDown          Code = 30
	CodeInternal              Code = 31
	CodeBackpressure          Code = 32
	CodePermissionDenied      Code = 33
	CodeStreamLimit           Code = 34
	CodeConnectionLimit       Code = 35
	CodeSlowConsumer          Code = 36
	CodeReadTimeout           Code = 37
	CodeStoreChanged          Code = 38
	CodeNotFound              Code = 39
	CodeAuthFailed            Code = 40
	CodeAuthExpired           Code = 41
	CodeUnavailable           Code = 42
)

var codeNames = map[Code]string{
	CodeUnknown: "UNKNOWN", CodeMalformedFrame: "MALFORMED_FRAME", CodeFrameTooLarge: "FRAME_TOO_LARGE",
	CodeUnknownFrameType: "UNKNOWN_FRAME_TYPE", CodeUnsupportedVersion: "UNSUPPORTED_VERSION",
	CodeHandshakeRequired: "HANDSHAKE_REQUIRED", CodeInvalidArgument: "INVALID_ARGUMENT",
	CodeSequenceMismatch: "SEQUENCE_MISMATCH", CodeSequenceNotRetained: "SEQUENCE_NOT_RETAINED",
	CodeUnknownSubscription: "UNKNOWN_SUBSCRIPTION", CodeDuplicateSubscription: "DUPLICATE_SUBSCRIPTION",
	CodeMessageTooLarge: "MESSAGE_TOO_LARGE", CodeProducerSequence: "PRODUCER_SEQUENCE",
	CodeNoResponders: "NO_RESPONDERS", CodeTimeout: "TIMEOUT", CodeResponderGone: "RESPONDER_GONE",
	CodeResponderFailed: "RESPONDER_FAILED", CodeShuttingDown: "SHUTTING_DOWN", CodeInternal: "INTERNAL",
	CodeBackpressure: "BACKPRESSURE", CodePermissionDenied: "PERMISSION_DENIED", CodeStreamLimit: "STREAM_LIMIT",
	CodeConnectionLimit: "CONNECTION_LIMIT", CodeSlowConsumer: "SLOW_CONSUMER", CodeReadTimeout: "READ_TIMEOUT",
	CodeStoreChanged: "STORE_CHANGED", CodeNotFound: "NOT_FOUND", CodeAuthFailed: "AUTH_FAILED",
	CodeAuthExpired: "AUTH_EXPIRED", CodeUnavailable: "UNAVAILABLE",
}

// Known maps a wire number to its code, or UNKNOWN.
func Known(n uint16) Code {
	if _, ok := codeNames[Code(n)]; ok {
		return Code(n)
	}
	return CodeUnknown
}

func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return "UNKNOWN"
}

// CodeByName returns the code named as in docs/protocol.md ("SEQUENCE_MISMATCH").
func CodeByName(name string) (Code, bool) {
	for c, n := range codeNames {
		if n == name {
			return c, true
		}
	}
	return 0, false
}

// ClosesConnection reports whether the broker closes the connection after an ERROR with this code.
func (c Code) ClosesConnection() bool {
	switch c {
	case CodeMalformedFrame, CodeFrameTooLarge, CodeUnknownFrameType, CodeUnsupportedVersion,
		CodeHandshakeRequired, CodeConnectionLimit, CodeSlowConsumer, CodeReadTimeout, CodeAuthFailed, CodeAuthExpired:
		return true
	}
	return false
}

// WireError is an ERROR (or SUBSCRIPTION_CLOSED) from the broker: its code, message and, with
// protocol version 2, its fields. Every typed broker error unwraps to one:
//
//	var we *wirebus.WireError
//	if errors.As(err, &we) && we.Code == wirebus.CodeNoResponders { ... }
type WireError struct {
	Code    Code
	Number  uint16 // the code as sent (differs from Code when the code is unknown)
	Message string
	Fields  ErrorFields
}

func (e *WireError) Error() string {
	if e.Code == CodeUnknown && e.Number != 0 {
		return fmt.Sprintf("wirebus: error code %d: %s", e.Number, e.Message)
	}
	return fmt.Sprintf("wirebus: %s: %s", e.Code, e.Message)
}

// Is makes a broker TIMEOUT match context.DeadlineExceeded, and any two wire errors with the same
// code match (errors.Is(err, &wirebus.WireError{Code: wirebus.CodeNoResponders})).
func (e *WireError) Is(target error) bool {
	if target == context.DeadlineExceeded {
		return e.Code == CodeTimeout
	}
	if t, ok := target.(*WireError); ok {
		return t.Code == e.Code
	}
	return false
}

// SequenceMismatchError is SEQUENCE_MISMATCH: nothing was appended. LastSequence is the stream's
// last sequence when Known (a field in protocol 2, read from the message text in protocol 1).
type SequenceMismatchError struct {
	WireError
	LastSequence uint64
	Known        bool
}

func (e *SequenceMismatchError) Unwrap() error { return &e.WireError }

// SequenceNotRetainedError is SEQUENCE_NOT_RETAINED: the start is below the first retained
// sequence, FirstRetainedSequence when Known.
type SequenceNotRetainedError struct {
	WireError
	FirstRetainedSequence uint64
	Known                 bool
}

func (e *SequenceNotRetainedError) Unwrap() error { return &e.WireError }

// BackpressureError is BACKPRESSURE: retry later, after RetryAfterMillis when Known.
type BackpressureError struct {
	WireError
	RetryAfterMillis uint64
	Known            bool
}

func (e *BackpressureError) Unwrap() error { return &e.WireError }

// ProducerSequenceError is PRODUCER_SEQUENCE: nothing appended; LastProducerSequence when Known.
type ProducerSequenceError struct {
	WireError
	LastProducerSequence uint64
	Known                bool
}

func (e *ProducerSequenceError) Unwrap() error { return &e.WireError }

// StoreChangedError ends subscriptions when the broker came back with another store (its storeId
// changed across a reconnect), or is the broker's STORE_CHANGED: resuming by sequence would skip
// or repeat messages, so the application must subscribe again explicitly.
type StoreChangedError struct {
	WireError
	OldStoreID, NewStoreID uint64
}

func (e *StoreChangedError) Unwrap() error { return &e.WireError }

// PermissionDeniedError is PERMISSION_DENIED: the connection's principal may not do this operation
// on this stream, subject or consumer (the message names them). The connection stays open.
type PermissionDeniedError struct{ WireError }

func (e *PermissionDeniedError) Unwrap() error { return &e.WireError }

// AuthFailedError is AUTH_FAILED: the broker refused the credential (unknown token, bad signature,
// expired, not yet valid, wrong audience, unknown mechanism) and closed the connection. Dial
// returns it; after a reconnect it closes the client (the same credential cannot succeed).
type AuthFailedError struct{ WireError }

func (e *AuthFailedError) Unwrap() error { return &e.WireError }

// AuthExpiredError is AUTH_EXPIRED: the connection's credential expired with no fresh AUTH and the
// broker closed the connection. It goes to the error handler; the client reconnects and
// authenticates again (asking Options.TokenProvider for a fresh token).
type AuthExpiredError struct{ WireError }

func (e *AuthExpiredError) Unwrap() error { return &e.WireError }

// UnavailableError is UNAVAILABLE: the store behind the stream cannot be reached; nothing was done.
type UnavailableError struct{ WireError }

func (e *UnavailableError) Unwrap() error { return &e.WireError }

var (
	reLastSequence  = regexp.MustCompile(`last sequence (\d+)`)
	reFirstRetained = regexp.MustCompile(`(?:retains sequences from|first retained sequence(?: is)?) (\d+)`)
)

func fromText(re *regexp.Regexp, msg string) (uint64, bool) {
	m := re.FindStringSubmatch(msg)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseUint(m[1], 10, 63)
	return v, err == nil
}

// errorFrom turns an ERROR or SUBSCRIPTION_CLOSED frame into the typed error for its code.
func errorFrom(number uint16, message string, fields ErrorFields) error {
	we := WireError{Code: Known(number), Number: number, Message: message, Fields: fields}
	switch we.Code {
	case CodeSequenceMismatch:
		v, ok := fields.Get(FieldLastSequence)
		if !ok {
			v, ok = fromText(reLastSequence, message)
		}
		return &SequenceMismatchError{WireError: we, LastSequence: v, Known: ok}
	case CodeSequenceNotRetained:
		v, ok := fields.Get(FieldFirstRetainedSequence)
		if !ok {
			v, ok = fromText(reFirstRetained, message)
		}
		return &SequenceNotRetainedError{WireError: we, FirstRetainedSequence: v, Known: ok}
	case CodeBackpressure:
		v, ok := fields.Get(FieldRetryAfterMillis)
		return &BackpressureError{WireError: we, RetryAfterMillis: v, Known: ok}
	case CodeProducerSequence:
		v, ok := fields.Get(FieldLastProducerSequence)
		return &ProducerSequenceError{WireError: we, LastProducerSequence: v, Known: ok}
	case CodeStoreChanged:
		return &StoreChangedError{WireError: we}
	case CodePermissionDenied:
		return &PermissionDeniedError{WireError: we}
	case CodeAuthFailed:
		return &AuthFailedError{WireError: we}
	case CodeAuthExpired:
		return &AuthExpiredError{WireError: we}
	case CodeUnavailable:
		return &UnavailableError{WireError: we}
	}
	return &we
}

// ErrConnection is matched (errors.Is) by every *ConnectionError.
var ErrConnection = errors.New("wirebus: connection")

// ConnectionError: not connected, the connection was lost (an unanswered call's outcome is then
// unknown), or the client is closed.
type ConnectionError struct {
	Msg string
	Err error // the cause, if any
}

func (e *ConnectionError) Error() string {
	if e.Err != nil {
		return "wirebus: " + e.Msg + ": " + e.Err.Error()
	}
	return "wirebus: " + e.Msg
}

func (e *ConnectionError) Unwrap() error { return e.Err }

// Is matches ErrConnection.
func (e *ConnectionError) Is(target error) bool { return target == ErrConnection }

// ErrClosed is the cause of ConnectionErrors after Close.
var ErrClosed = errors.New("client closed")

// TimeoutError is a local deadline that passed before the answer came (the call's context, or
// the default request timeout). It matches context.DeadlineExceeded with errors.Is.
type TimeoutError struct {
	Msg string
	Err error // the context's error
}

func (e *TimeoutError) Error() string { return "wirebus: " + e.Msg }

// Unwrap gives the context's error (context.DeadlineExceeded or context.Canceled).
func (e *TimeoutError) Unwrap() error { return e.Err }

// Is matches context.DeadlineExceeded even when the default timeout (no context error) expired.
func (e *TimeoutError) Is(target error) bool {
	return target == context.DeadlineExceeded && e.Err == nil
}

// ErrQueueFull: the batching sender's queue had no room (at once with WhenFull Reject, or by the
// context's deadline).
var ErrQueueFull = errors.New("wirebus: publish queue full")

// ErrSubscriptionClosed is what Next returns after the application closed the subscription.
var ErrSubscriptionClosed = errors.New("wirebus: subscription closed")
