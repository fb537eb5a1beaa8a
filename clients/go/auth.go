package wirebus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"
)

// WithToken sets a bearer credential (static token or JWT), sent in AUTH on every connection.
func WithToken(token string) Option { return func(o *Options) { o.Token = token } }

// WithTokenProvider asks provider for the credential on every connection (a fresh token after
// AUTH_EXPIRED, for example).
func WithTokenProvider(provider func(ctx context.Context) (string, error)) Option {
	return func(o *Options) { o.TokenProvider = provider }
}

// WithoutTokenRefresh: no AUTH before the credential expires (see Options.NoTokenRefresh).
func WithoutTokenRefresh() Option { return func(o *Options) { o.NoTokenRefresh = true } }

// WithTLS sets the TLS configuration of tls:// addresses.
func WithTLS(cfg *tls.Config) Option { return func(o *Options) { o.TLS = cfg } }

// WithCAFile trusts the CA certificates of a PEM file for tls:// addresses.
func WithCAFile(path string) Option { return func(o *Options) { o.CAFile = path } }

func tlsWithCAFile(base *tls.Config, path string) (*tls.Config, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("wirebus: reading CA file: %w", err)
	}
	var cfg *tls.Config
	if base != nil {
		cfg = base.Clone()
	} else {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.RootCAs == nil {
		cfg.RootCAs = x509.NewCertPool()
	}
	if !cfg.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("wirebus: CA file %s holds no PEM certificate", path)
	}
	return cfg, nil
}

// AuthUnsupportedError: the broker predates AUTH (it answered UNKNOWN_FRAME_TYPE and closed the
// connection), so the credential cannot be presented. Final, like AuthFailedError.
type AuthUnsupportedError struct{ WireError }

func (e *AuthUnsupportedError) Unwrap() error { return &e.WireError }

// isFinalAuthError: a failure another attempt with the same credential cannot fix.
func isFinalAuthError(err error) bool {
	var af *AuthFailedError
	var au *AuthUnsupportedError
	return errors.As(err, &af) || errors.As(err, &au)
}

// credential is the bearer credential for a new connection (nil: send no AUTH).
func (cl *Client) credential(ctx context.Context) ([]byte, error) {
	cl.mu.Lock()
	tok := cl.token
	cl.mu.Unlock()
	if tok != nil {
		return []byte(*tok), nil
	}
	if cl.opts.TokenProvider != nil {
		t, err := cl.opts.TokenProvider(ctx)
		if err != nil {
			return nil, fmt.Errorf("wirebus: the token provider failed: %w", err)
		}
		if t == "" {
			return nil, errors.New("wirebus: the token provider returned an empty token")
		}
		return []byte(t), nil
	}
	if cl.opts.Token != "" {
		return []byte(cl.opts.Token), nil
	}
	return nil, nil
}

// AuthInfo is what AUTH_OK said: the principal and when its credential expires (epoch ms, 0 = never).
type AuthInfo struct {
	Principal       string
	ExpiresAtMillis uint64
}

// Principal is the principal AUTH_OK named on the current connection ("" without a credential or
// while disconnected).
func (cl *Client) Principal() AuthInfo {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.cur == nil {
		return AuthInfo{}
	}
	return AuthInfo{Principal: cl.cur.principal, ExpiresAtMillis: cl.cur.expiresAt}
}

// Auth presents a fresh bearer token on the current connection (for example before the current
// one expires); the broker replaces the connection's principal. Once AUTH_OK came the token is
// also used for later connections. AUTH_FAILED returns an *AuthFailedError (the broker closes the
// connection; the client reconnects with the previous credential).
func (cl *Client) Auth(ctx context.Context, token string) (AuthInfo, error) {
	if token == "" {
		return AuthInfo{}, errors.New("wirebus: empty token")
	}
	info, err := cl.sendAuth(ctx, token)
	if err != nil {
		return AuthInfo{}, err
	}
	cl.mu.Lock()
	cl.token = &token
	cl.mu.Unlock()
	return info, nil
}

// sendAuth sends AUTH on the current connection and records AUTH_OK on it.
func (cl *Client) sendAuth(ctx context.Context, token string) (AuthInfo, error) {
	f := &Frame{Type: TypeAuth, RequestID: cl.ids.Add(1), Mechanism: "bearer", Credential: []byte(token)}
	desc := func() string { return "AUTH" }
	resp, err := cl.roundTrip(ctx, f, desc)
	if err != nil {
		return AuthInfo{}, err
	}
	if err := expect(resp, TypeAuthOK, desc); err != nil {
		return AuthInfo{}, err
	}
	info := AuthInfo{Principal: resp.Principal, ExpiresAtMillis: resp.ExpiresAtMillis}
	cl.mu.Lock()
	if cl.cur != nil {
		cl.cur.principal, cl.cur.expiresAt = info.Principal, info.ExpiresAtMillis
	}
	cl.mu.Unlock()
	return info, nil
}

// refreshCredential asks the token provider for a fresh token when three quarters of the current
// one's remaining lifetime have passed and presents it on cn, for as long as cn is the client's
// connection and its credential expires. A failure is reported; the broker then ends the
// connection with AUTH_EXPIRED and the reconnect authenticates afresh.
func (cl *Client) refreshCredential(cn *conn) {
	defer cl.wg.Done()
	for {
		cl.mu.Lock()
		exp, current, custom := cn.expiresAt, cl.cur == cn, cl.token != nil
		cl.mu.Unlock()
		if exp == 0 || !current || custom {
			return
		}
		t := time.NewTimer(time.Until(time.UnixMilli(int64(exp))) * 3 / 4)
		select {
		case <-cn.done:
			t.Stop()
			return
		case <-cl.closedCh:
			t.Stop()
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), cl.opts.RequestTimeout)
		tok, err := cl.opts.TokenProvider(ctx)
		if err == nil && tok == "" {
			err = errors.New("the token provider returned an empty token")
		}
		if err == nil {
			cl.mu.Lock()
			current = cl.cur == cn
			cl.mu.Unlock()
			if !current {
				cancel()
				return
			}
			_, err = cl.sendAuth(ctx, tok)
		}
		cancel()
		if err != nil {
			cl.report(fmt.Errorf("wirebus: refreshing the credential before it expires: %w", err))
			return
		}
	}
}

// StreamInfo describes one stream in a Streams page.
type StreamInfo = StreamEntry

// StreamPage is one page of Streams; More is true when names after the last one exist.
type StreamPage struct {
	Streams []StreamInfo
	More    bool
}

// Streams lists up to max (1..1000) streams whose names sort after after ("" = from the start),
// those the principal may administer.
func (cl *Client) Streams(ctx context.Context, after string, max int) (StreamPage, error) {
	if max < 1 || max > 1000 {
		return StreamPage{}, fmt.Errorf("wirebus: Streams needs 1 <= max <= 1000, got %d", max)
	}
	f := &Frame{Type: TypeStreams, RequestID: cl.ids.Add(1), After: after, Max: uint32(max)}
	desc := func() string { return "STREAMS" }
	resp, err := cl.roundTrip(ctx, f, desc)
	if err != nil {
		return StreamPage{}, err
	}
	if err := expect(resp, TypeStreamList, desc); err != nil {
		return StreamPage{}, err
	}
	return StreamPage{Streams: resp.Streams, More: resp.More}, nil
}

// DeleteStream deletes a stream, its records and durable consumers (*WireError NOT_FOUND if absent).
func (cl *Client) DeleteStream(ctx context.Context, stream string) error {
	return cl.adminOK(ctx, &Frame{Type: TypeDeleteStream, Stream: stream}, stream, "DELETE_STREAM '"+stream+"'")
}

// TrimStream drops records below beforeSequence as far as the storage granularity allows.
func (cl *Client) TrimStream(ctx context.Context, stream string, beforeSequence uint64) error {
	if beforeSequence > maxU63 {
		return fmt.Errorf("wirebus: beforeSequence %d exceeds 2^63-1", beforeSequence)
	}
	return cl.adminOK(ctx, &Frame{Type: TypeTrimStream, Stream: stream, BeforeSequence: beforeSequence}, stream,
		fmt.Sprintf("TRIM_STREAM '%s' before %d", stream, beforeSequence))
}

// DeleteConsumer deletes a durable consumer and its position (NOT_FOUND if absent).
func (cl *Client) DeleteConsumer(ctx context.Context, stream, consumer string) error {
	if err := checkName("consumer", consumer); err != nil {
		return err
	}
	return cl.adminOK(ctx, &Frame{Type: TypeDeleteConsumer, Stream: stream, Consumer: consumer}, stream,
		fmt.Sprintf("DELETE_CONSUMER '%s' of '%s'", consumer, stream))
}

func (cl *Client) adminOK(ctx context.Context, f *Frame, stream, what string) error {
	if err := checkName("stream", stream); err != nil {
		return err
	}
	f.RequestID = cl.ids.Add(1)
	desc := func() string { return what }
	resp, err := cl.roundTrip(ctx, f, desc)
	if err != nil {
		return err
	}
	return expect(resp, TypeOK, desc)
}
