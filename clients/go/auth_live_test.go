package wirebus_test

// Access control against the real broker (issue 13): a broker started with a [security] table
// (static tokens stored as hashes, an HS256 JWT key with no clock skew, TLS on its TCP listener
// with a CA made here). Skipped, saying so, when the broker jar has no access control (it refuses
// the [security] table).

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	wirebus "github.com/wirebus/wirebus-go"
	"github.com/wirebus/wirebus-go/internal/brokertest"
)

var jwtSecret = []byte("wirebus-go-test-hs256-secret-0123456789")

func hs256(t *testing.T, sub string, exp int64, perms map[string][]string) string {
	t.Helper()
	enc := func(v interface{}) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." +
		enc(map[string]interface{}{"sub": sub, "aud": "wirebus-test", "exp": exp, "wirebus": perms})
	m := hmac.New(sha256.New, jwtSecret)
	m.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return "sha256:" + hex.EncodeToString(h[:])
}

// startSecureBroker starts a broker with access control and TLS; it returns its tls:// address and
// the CA file, or skips the test when the broker has no access control.
func startSecureBroker(t *testing.T) (addr, caFile string) {
	t.Helper()
	jar := brokertest.Jar(t)
	dir := t.TempDir()
	caFile, cert := testCA(t)
	certFile, keyFile := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	secretFile := filepath.Join(dir, "hs256.secret")
	os.WriteFile(secretFile, jwtSecret, 0o600)
	config := filepath.Join(dir, "wirebus.toml")
	toml := fmt.Sprintf(`[security]
[security.jwt]
audience = "wirebus-test"
secret-file = %q
clock-skew = "0s"
[security.tls]
cert = %q
key = %q
[security.principals.writer]
tokens = [%q]
publish = ["auth.>"]
read = ["auth.>"]
[security.principals.reader]
tokens = [%q]
read = ["auth.>"]
[security.principals.operator]
tokens = [%q]
admin = ["auth.>"]
publish = ["auth.>"]
read = ["auth.>"]
consume = [">"]
`, secretFile, certFile, keyFile, tokenHash("writer-token"), tokenHash("reader-token"), tokenHash("operator-token"))
	if err := os.WriteFile(config, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", jar, "serve", "--store", "memory",
		"--no-uds", "--tcp", "127.0.0.1:0", "--http", "off", "--config", config}
	b, err := brokertest.StartArgs(args, 60*time.Second)
	if err != nil {
		if strings.Contains(err.Error(), "[security]: unknown table") {
			t.Skip("this broker has no access control (it does not know the [security] table)")
		}
		t.Fatalf("starting a broker with access control: %v", err)
	}
	t.Cleanup(b.Stop)
	return strings.Replace(b.TCP, "tcp://", "tls://", 1), caFile
}

func TestLiveAuthTokensPermissionsTLS(t *testing.T) {
	addr, ca := startSecureBroker(t)
	ctx := ctxT(t, 60*time.Second)
	w, err := dialOpts(t, wirebus.WithAddresses(addr), wirebus.WithCAFile(ca), wirebus.WithToken("writer-token"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := dialOpts(t, wirebus.WithAddresses(addr), wirebus.WithCAFile(ca), wirebus.WithToken("reader-token"))
	if err != nil {
		t.Fatal(err)
	}
	if w.Principal().Principal != "writer" || r.Principal().Principal != "reader" {
		t.Fatalf("principals %+v %+v", w.Principal(), r.Principal())
	}
	if ack, err := w.Publish(ctx, "auth.s", []byte("1")); err != nil || ack.FirstSequence != 1 {
		t.Fatalf("writer publish: %+v %v", ack, err)
	}
	_, err = r.Publish(ctx, "auth.s", []byte("2"))
	var pd *wirebus.PermissionDeniedError
	if !errors.As(err, &pd) || !strings.Contains(pd.Message, "auth.s") {
		t.Fatalf("reader publish: %v", err)
	}
	if _, err := w.Publish(ctx, "other", []byte("3")); !errors.As(err, &pd) {
		t.Fatalf("writer outside its pattern: %v", err)
	}
	if page, err := r.Fetch(ctx, "auth.s", 1, 10); err != nil || len(page.Messages) != 1 {
		t.Fatalf("reader fetch after the denial: %+v %v", page, err)
	}
	if info, err := r.Auth(ctx, "writer-token"); err != nil || info.Principal != "writer" {
		t.Fatalf("re-auth: %+v %v", info, err)
	}
	if ack, err := r.Publish(ctx, "auth.s", []byte("4")); err != nil || ack.FirstSequence != 2 {
		t.Fatalf("publish after re-auth: %+v %v", ack, err)
	}
	_, err = dialOpts(t, wirebus.WithAddresses(addr), wirebus.WithCAFile(ca), wirebus.WithToken("nobody-token"))
	var af *wirebus.AuthFailedError
	if !errors.As(err, &af) {
		t.Fatalf("unknown token: %v", err)
	}
	_, err = dialOpts(t, wirebus.WithAddresses(addr), wirebus.WithToken("writer-token"))
	if !errors.Is(err, wirebus.ErrConnection) || !strings.Contains(err.Error(), "TLS handshake") {
		t.Fatalf("without the CA: %v", err)
	}
}

func TestLiveAuthJWTExpiresMidConnection(t *testing.T) {
	addr, ca := startSecureBroker(t)
	perms := map[string][]string{"read": {"auth.jwt"}, "publish": {"auth.jwt"}}
	var mu sync.Mutex
	var minted []int64
	expired := make(chan struct{}, 1)
	c, err := dialOpts(t, wirebus.WithAddresses(addr), wirebus.WithCAFile(ca), wirebus.WithoutTokenRefresh(),
		wirebus.WithTokenProvider(func(context.Context) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			exp := time.Now().Unix() + 600
			if len(minted) == 0 {
				exp = time.Now().Unix() + 4 // the first token expires a few seconds from now
			}
			minted = append(minted, exp)
			return hs256(t, "browser-1", exp, perms), nil
		}),
		wirebus.WithErrorHandler(func(e error) {
			var ae *wirebus.AuthExpiredError
			if errors.As(e, &ae) {
				select {
				case expired <- struct{}{}:
				default:
				}
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 60*time.Second)
	mu.Lock()
	first := minted[0]
	mu.Unlock()
	if p := c.Principal(); p.Principal != "browser-1" || p.ExpiresAtMillis != uint64(first*1000) {
		t.Fatalf("principal %+v, want browser-1 expiring at %d", p, first*1000)
	}
	if _, err := c.Publish(ctx, "auth.jwt", []byte("before")); err != nil {
		t.Fatal(err)
	}
	select { // the broker closes the connection at the token's expiry: waited for, with a deadline
	case <-expired:
	case <-ctx.Done():
		t.Fatal("no AUTH_EXPIRED from the broker")
	}
	waitFor(t, "reconnected with a fresh token", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(minted) == 2 && c.State() == wirebus.StateConnected && c.Principal().ExpiresAtMillis == uint64(minted[1]*1000)
	})
	if ack, err := c.Publish(ctx, "auth.jwt", []byte("after")); err != nil || ack.FirstSequence != 2 {
		t.Fatalf("publish with the fresh token: %+v %v", ack, err)
	}
	var pd *wirebus.PermissionDeniedError
	if _, err := c.Publish(ctx, "auth.s", []byte("x")); !errors.As(err, &pd) {
		t.Fatalf("outside the token's claims: %v", err)
	}
}

func TestLiveAuthJWTRefreshedBeforeExpiry(t *testing.T) {
	addr, ca := startSecureBroker(t)
	perms := map[string][]string{"read": {"auth.refresh"}, "publish": {"auth.refresh"}}
	var mu sync.Mutex
	var minted []int64
	var reported []error
	c, err := dialOpts(t, wirebus.WithAddresses(addr), wirebus.WithCAFile(ca),
		wirebus.WithErrorHandler(func(e error) {
			mu.Lock()
			reported = append(reported, e)
			mu.Unlock()
		}),
		wirebus.WithTokenProvider(func(context.Context) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			exp := time.Now().Unix() + 600
			if len(minted) == 0 {
				exp = time.Now().Unix() + 4 // refreshed after three quarters of this
			}
			minted = append(minted, exp)
			return hs256(t, "browser-2", exp, perms), nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the credential refreshed on the open connection", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(minted) == 2 && c.Principal().ExpiresAtMillis == uint64(minted[1]*1000)
	})
	mu.Lock()
	first := minted[0]
	mu.Unlock()
	// past the first token's expiry, the connection is still the same one: no AUTH_EXPIRED came
	waitFor(t, "the first token's expiry passed", func() bool { return time.Now().Unix() > first })
	if ack, err := c.Publish(ctxT(t, 20*time.Second), "auth.refresh", []byte("x")); err != nil || ack.FirstSequence != 1 {
		t.Fatalf("publish after the first token expired: %+v %v", ack, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range reported {
		t.Errorf("reported: %v (the connection should have stayed)", e)
	}
}

func TestLiveAuthAdminOperations(t *testing.T) {
	addr, ca := startSecureBroker(t)
	ctx := ctxT(t, 60*time.Second)
	op, err := dialOpts(t, wirebus.WithAddresses(addr), wirebus.WithCAFile(ca), wirebus.WithToken("operator-token"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := dialOpts(t, wirebus.WithAddresses(addr), wirebus.WithCAFile(ca), wirebus.WithToken("reader-token"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.PublishBatch(ctx, "auth.admin", [][]byte{[]byte("a"), []byte("b"), []byte("c")}); err != nil {
		t.Fatal(err)
	}
	sub, err := op.Subscribe(ctx, "auth.admin", wirebus.SubscribeOptions{Start: wirebus.Earliest, Consumer: "c1", AckMode: wirebus.AckManual})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := sub.Next(ctx); err != nil || m.Sequence != 1 {
		t.Fatalf("consumer: %v %v", m, err)
	}
	sub.Close(ctx)
	page, err := op.Streams(ctx, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range page.Streams {
		if s.Name == "auth.admin" {
			found = true
			if s.FirstSequence != 1 || s.LastSequence != 3 || s.Consumers != 1 {
				t.Fatalf("stream info %+v", s)
			}
		}
	}
	if !found || page.More {
		t.Fatalf("streams page %+v", page)
	}
	if err := op.TrimStream(ctx, "auth.admin", 3); err != nil {
		t.Fatal(err)
	}
	var pd *wirebus.PermissionDeniedError
	if err := r.DeleteConsumer(ctx, "auth.admin", "c1"); !errors.As(err, &pd) {
		t.Fatalf("reader deletes a consumer: %v", err)
	}
	if err := op.DeleteConsumer(ctx, "auth.admin", "c1"); err != nil {
		t.Fatal(err)
	}
	var we *wirebus.WireError
	if err := op.DeleteConsumer(ctx, "auth.admin", "c1"); !errors.As(err, &we) || we.Code != wirebus.CodeNotFound {
		t.Fatalf("second delete: %v, want NOT_FOUND", err)
	}
	if err := op.DeleteStream(ctx, "auth.admin"); err != nil {
		t.Fatalf("delete stream: %v", err)
	}
	if err := op.DeleteStream(ctx, "auth.admin"); !errors.As(err, &we) || we.Code != wirebus.CodeNotFound {
		t.Fatalf("second stream delete: %v, want NOT_FOUND", err)
	}
}
