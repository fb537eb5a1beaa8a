package wirebus_test

// Authentication and TLS (issue 13, client side) against a small scripted broker over real
// sockets (the real broker's access control lands separately): AUTH goes first after WELCOME on
// every connection, AUTH_OK gives the principal, AUTH_FAILED / AUTH_EXPIRED / PERMISSION_DENIED are
// typed errors (errors.As), tls:// with a CA file.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	wirebus "github.com/wirebus/wirebus-go"
)

type principal struct {
	name      string
	expiresAt uint64
	publish   map[string]bool
	ttl       time.Duration // > 0: expires this long after AUTH
}

// fakeBroker speaks the real wire format (WELCOME v2, AUTH_OK, ERROR with the v2 fields section,
// PUBLISH_ACK, PONG) and records the frame types each connection sent.
type fakeBroker struct {
	ln            net.Listener
	addr          string
	tokens        map[string]principal
	authSupported bool

	mu    sync.Mutex
	conns [][]wirebus.FrameType
	open  map[net.Conn]bool
	seqs  map[string]uint64
	wg    sync.WaitGroup
}

func startFake(t *testing.T, tokens map[string]principal, tlsCfg *tls.Config, authSupported bool) *fakeBroker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scheme := "tcp://"
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
		scheme = "tls://"
	}
	fb := &fakeBroker{ln: ln, addr: scheme + ln.Addr().String(), tokens: tokens, authSupported: authSupported,
		open: map[net.Conn]bool{}, seqs: map[string]uint64{}}
	fb.wg.Add(1)
	go func() {
		defer fb.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fb.mu.Lock()
			fb.conns = append(fb.conns, nil)
			idx := len(fb.conns) - 1
			fb.open[c] = true
			fb.mu.Unlock()
			fb.wg.Add(1)
			go fb.serve(c, idx)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		fb.dropAll(nil)
		fb.wg.Wait()
	})
	return fb
}

func (fb *fakeBroker) connections() [][]wirebus.FrameType {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	out := make([][]wirebus.FrameType, len(fb.conns))
	for i, c := range fb.conns {
		out[i] = append([]wirebus.FrameType(nil), c...)
	}
	return out
}

// dropAll closes every connection, first sending frame f on each when given.
func (fb *fakeBroker) dropAll(f *wirebus.Frame) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	for c := range fb.open {
		if f != nil {
			b, _ := wirebus.EncodeFrame(f, 2)
			c.Write(b)
		}
		c.Close()
		delete(fb.open, c)
	}
}

func (fb *fakeBroker) serve(c net.Conn, idx int) {
	defer fb.wg.Done()
	defer c.Close()
	fr := wirebus.NewFrameReader(c, 1<<20, 2)
	var who *principal
	send := func(f *wirebus.Frame) { b, _ := wirebus.EncodeFrame(f, 2); c.Write(b) }
	fail := func(id uint64, code wirebus.Code, msg string) {
		send(&wirebus.Frame{Type: wirebus.TypeError, RequestID: id, Code: uint16(code), Message: msg})
	}
	for {
		f, err := fr.Next()
		if err != nil {
			return
		}
		fb.mu.Lock()
		fb.conns[idx] = append(fb.conns[idx], f.Type)
		fb.mu.Unlock()
		switch f.Type {
		case wirebus.TypeHello:
			send(&wirebus.Frame{Type: wirebus.TypeWelcome, RequestID: f.RequestID, Version: 2, MaxFrameLength: 1 << 20, StoreID: 77, Name: "fake"})
		case wirebus.TypeAuth:
			if !fb.authSupported {
				fail(f.RequestID, wirebus.CodeUnknownFrameType, "AUTH is not supported by this broker yet")
				return
			}
			p, ok := fb.tokens[string(f.Credential)]
			if !ok || f.Mechanism != "bearer" {
				fail(f.RequestID, wirebus.CodeAuthFailed, "credential unknown")
				return
			}
			who = &p
			exp := p.expiresAt
			if p.ttl > 0 {
				exp = uint64(time.Now().Add(p.ttl).UnixMilli())
			}
			send(&wirebus.Frame{Type: wirebus.TypeAuthOK, RequestID: f.RequestID, Principal: p.name, ExpiresAtMillis: exp})
		case wirebus.TypePublish:
			if who == nil || !who.publish[f.Stream] {
				name := "anonymous"
				if who != nil {
					name = who.name
				}
				fail(f.RequestID, wirebus.CodePermissionDenied, fmt.Sprintf("publish on '%s' is not permitted for '%s'", f.Stream, name))
				continue
			}
			fb.mu.Lock()
			fb.seqs[f.Stream]++
			seq := fb.seqs[f.Stream]
			fb.mu.Unlock()
			send(&wirebus.Frame{Type: wirebus.TypePublishAck, RequestID: f.RequestID, FirstSequence: seq, Count: 1})
		case wirebus.TypePing:
			send(&wirebus.Frame{Type: wirebus.TypePong, RequestID: f.RequestID})
		}
	}
}

var testTokens = map[string]principal{
	"s3cret-token":   {"committer", 0, map[string]bool{"blocks": true}, 0},
	"observer-token": {"observer", 1764806400000, nil, 0},
	"fresh-token":    {"committer-2", 0, map[string]bool{"blocks": true}, 0},
	"short-token":    {"short", 0, map[string]bool{"blocks": true}, 2 * time.Second},
}

func dialOpts(t *testing.T, opts ...wirebus.Option) (*wirebus.Client, error) {
	t.Helper()
	base := []wirebus.Option{wirebus.WithName(t.Name()), wirebus.WithErrorHandler(clientLog(t)),
		wirebus.WithReconnect(wirebus.ReconnectPolicy{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond})}
	c, err := wirebus.Dial(ctxT(t, 10*time.Second), append(base, opts...)...)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// waitFor polls cond (pacing of a poll with a deadline, not a synchronisation).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func types(ts []wirebus.FrameType, n int) string {
	var s []string
	for i := 0; i < n && i < len(ts); i++ {
		s = append(s, ts[i].String())
	}
	return strings.Join(s, ",")
}

func TestAuthFirstOnEveryConnection(t *testing.T) {
	fb := startFake(t, testTokens, nil, true)
	c, err := dialOpts(t, wirebus.WithAddresses(fb.addr), wirebus.WithToken("s3cret-token"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 20*time.Second)
	if p := c.Principal(); p.Principal != "committer" || p.ExpiresAtMillis != 0 {
		t.Fatalf("principal %+v", p)
	}
	if ack, err := c.Publish(ctx, "blocks", []byte("b1")); err != nil || ack.FirstSequence != 1 {
		t.Fatalf("publish: %+v %v", ack, err)
	}
	if got := types(fb.connections()[0], 3); got != "HELLO,AUTH,PUBLISH" {
		t.Fatalf("first connection sent %s", got)
	}
	fb.dropAll(nil)
	waitFor(t, "reconnected", func() bool { return len(fb.connections()) >= 2 && c.State() == wirebus.StateConnected })
	if ack, err := c.Publish(ctx, "blocks", []byte("b2")); err != nil || ack.FirstSequence != 2 {
		t.Fatalf("publish after reconnect: %+v %v", ack, err)
	}
	conns := fb.connections()
	if got := types(conns[len(conns)-1], 3); got != "HELLO,AUTH,PUBLISH" {
		t.Fatalf("reconnection sent %s", got)
	}
}

func TestAuthNoTokenNoAuthFrame(t *testing.T) {
	fb := startFake(t, testTokens, nil, true)
	c, err := dialOpts(t, wirebus.WithAddresses(fb.addr))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Publish(ctxT(t, 10*time.Second), "blocks", []byte("x"))
	var pd *wirebus.PermissionDeniedError
	if !errors.As(err, &pd) {
		t.Fatalf("anonymous publish: %v", err)
	}
	if got := types(fb.connections()[0], 2); got != "HELLO,PUBLISH" {
		t.Fatalf("sent %s", got)
	}
}

func TestAuthFailedIsTypedAndFinal(t *testing.T) {
	fb := startFake(t, testTokens, nil, true)
	other := startFake(t, testTokens, nil, true)
	_, err := dialOpts(t, wirebus.WithAddresses(fb.addr, other.addr), wirebus.WithToken("wrong"))
	var af *wirebus.AuthFailedError
	if !errors.As(err, &af) || af.Code != wirebus.CodeAuthFailed || af.Number != 40 {
		t.Fatalf("bad token: %v, want an *AuthFailedError", err)
	}
	var we *wirebus.WireError
	if !errors.As(err, &we) || we.Code.String() != "AUTH_FAILED" {
		t.Fatalf("not a WireError AUTH_FAILED: %v", err)
	}
	if n := len(other.connections()); n != 0 {
		t.Fatalf("the refused credential was tried on the next address too (%d connections)", n)
	}
}

func TestAuthPermissionDeniedKeepsConnection(t *testing.T) {
	fb := startFake(t, testTokens, nil, true)
	c, err := dialOpts(t, wirebus.WithAddresses(fb.addr), wirebus.WithToken("observer-token"))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Principal(); p.Principal != "observer" || p.ExpiresAtMillis != 1764806400000 {
		t.Fatalf("principal %+v", p)
	}
	ctx := ctxT(t, 10*time.Second)
	_, err = c.Publish(ctx, "blocks", []byte("x"))
	var pd *wirebus.PermissionDeniedError
	if !errors.As(err, &pd) || pd.Code != wirebus.CodePermissionDenied || !strings.Contains(pd.Message, "publish on 'blocks'") {
		t.Fatalf("publish as observer: %v", err)
	}
	if _, err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(fb.connections()); n != 1 {
		t.Fatalf("%d connections: PERMISSION_DENIED must not close the connection", n)
	}
}

func TestAuthExpiredThenFreshToken(t *testing.T) {
	fb := startFake(t, testTokens, nil, true)
	var mu sync.Mutex
	var issued []string
	var expired []error
	c, err := dialOpts(t, wirebus.WithAddresses(fb.addr),
		wirebus.WithTokenProvider(func(context.Context) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			tok := "s3cret-token"
			if len(issued) > 0 {
				tok = "fresh-token"
			}
			issued = append(issued, tok)
			return tok, nil
		}),
		wirebus.WithErrorHandler(func(e error) {
			var ae *wirebus.AuthExpiredError
			if errors.As(e, &ae) {
				mu.Lock()
				expired = append(expired, e)
				mu.Unlock()
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Principal().Principal != "committer" {
		t.Fatalf("principal %+v", c.Principal())
	}
	fb.dropAll(&wirebus.Frame{Type: wirebus.TypeError, Code: uint16(wirebus.CodeAuthExpired), Message: "credential expired"})
	waitFor(t, "reconnected with a fresh token", func() bool {
		return c.Principal().Principal == "committer-2" && c.State() == wirebus.StateConnected
	})
	if ack, err := c.Publish(ctxT(t, 10*time.Second), "blocks", []byte("after")); err != nil || ack.FirstSequence != 1 {
		t.Fatalf("publish after re-auth: %+v %v", ack, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(expired) == 0 {
		t.Fatal("AUTH_EXPIRED was not reported as an *AuthExpiredError")
	}
	if strings.Join(issued, ",") != "s3cret-token,fresh-token" {
		t.Fatalf("provider called for %v", issued)
	}
}

func TestAuthReplacesPrincipal(t *testing.T) {
	fb := startFake(t, testTokens, nil, true)
	c, err := dialOpts(t, wirebus.WithAddresses(fb.addr), wirebus.WithToken("observer-token"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 10*time.Second)
	info, err := c.Auth(ctx, "fresh-token")
	if err != nil || info.Principal != "committer-2" || c.Principal().Principal != "committer-2" {
		t.Fatalf("re-auth: %+v %v", info, err)
	}
	if _, err := c.Publish(ctx, "blocks", []byte("x")); err != nil {
		t.Fatal(err)
	}
	_, err = c.Auth(ctx, "nope")
	var af *wirebus.AuthFailedError
	if !errors.As(err, &af) {
		t.Fatalf("bad re-auth: %v", err)
	}
}

func TestAuthBrokerWithoutAuth(t *testing.T) {
	fb := startFake(t, testTokens, nil, false)
	_, err := dialOpts(t, wirebus.WithAddresses(fb.addr), wirebus.WithToken("s3cret-token"))
	var au *wirebus.AuthUnsupportedError
	if !errors.As(err, &au) || !strings.Contains(err.Error(), "does not support authentication") {
		t.Fatalf("old broker: %v", err)
	}
}

// testCA makes a CA and a server certificate for 127.0.0.1 signed by it; the CA goes to a PEM file.
func testCA(t *testing.T) (caFile string, server tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wirebus test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestTLSWithCAFile(t *testing.T) {
	caFile, cert := testCA(t)
	fb := startFake(t, testTokens, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, true)
	if !strings.HasPrefix(fb.addr, "tls://") {
		t.Fatal(fb.addr)
	}
	c, err := dialOpts(t, wirebus.WithAddresses(fb.addr), wirebus.WithCAFile(caFile), wirebus.WithToken("s3cret-token"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Principal().Principal != "committer" {
		t.Fatalf("principal %+v", c.Principal())
	}
	if ack, err := c.Publish(ctxT(t, 10*time.Second), "blocks", []byte("over tls")); err != nil || ack.FirstSequence != 1 {
		t.Fatalf("publish over TLS: %+v %v", ack, err)
	}
	// without the CA the certificate is not trusted: a clean, typed connection error
	_, err = dialOpts(t, wirebus.WithAddresses(fb.addr), wirebus.WithToken("s3cret-token"))
	var ue x509.UnknownAuthorityError
	if !errors.Is(err, wirebus.ErrConnection) || !errors.As(err, &ue) || !strings.Contains(err.Error(), "TLS handshake") {
		t.Fatalf("untrusted certificate: %v", err)
	}
	// a name the certificate does not carry
	_, err = dialOpts(t, wirebus.WithAddresses(fb.addr), wirebus.WithCAFile(caFile), wirebus.WithTLS(&tls.Config{ServerName: "broker.example"}))
	var he x509.HostnameError
	if !errors.As(err, &he) {
		t.Fatalf("wrong server name: %v", err)
	}
}

func TestAuthRefreshedBeforeExpiry(t *testing.T) {
	fb := startFake(t, testTokens, nil, true)
	var mu sync.Mutex
	calls := 0
	c, err := dialOpts(t, wirebus.WithAddresses(fb.addr), wirebus.WithTokenProvider(func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return "short-token", nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	first := c.Principal().ExpiresAtMillis
	if first == 0 {
		t.Fatal("the short token has an expiry")
	}
	waitFor(t, "two refreshes on the open connection", func() bool {
		return types(fb.connections()[0], 4) == "HELLO,AUTH,AUTH,AUTH" && c.Principal().ExpiresAtMillis > first
	})
	if n := len(fb.connections()); n != 1 {
		t.Fatalf("%d connections: the refresh goes on the open connection", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls < 3 {
		t.Fatalf("the provider was asked %d times", calls)
	}
}
