package wirebus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// clientMaxFrameLength is the largest frame this client reads. It is above the broker's announced
// maximum on purpose: a version 1 broker may send a DELIVER or FETCHED a few bytes longer than
// the maximum it announced (issue 14), and refusing it would leave that stream unreadable.
const clientMaxFrameLength = 64 * 1024 * 1024

// DefaultAddress is the broker's default Unix socket as a unix:// address: $WIREBUS_SOCKET, else
// $XDG_RUNTIME_DIR/wirebus.sock when that directory exists, else ./wirebus.sock.
func DefaultAddress() string {
	if p := strings.TrimSpace(os.Getenv("WIREBUS_SOCKET")); p != "" {
		abs, _ := filepath.Abs(p)
		return "unix://" + abs
	}
	if rt := strings.TrimSpace(os.Getenv("XDG_RUNTIME_DIR")); rt != "" {
		if st, err := os.Stat(rt); err == nil && st.IsDir() {
			return "unix://" + filepath.Join(rt, "wirebus.sock")
		}
	}
	abs, _ := filepath.Abs("wirebus.sock")
	return "unix://" + abs
}

// ParseAddress splits unix:///path, tcp://host:port, tls://host:port or a bare socket path into a
// network ("unix", "tcp" or "tls": TCP with TLS on top) and an address.
func ParseAddress(address string) (network, addr string, err error) {
	switch {
	case strings.TrimSpace(address) == "":
		return "", "", fmt.Errorf("wirebus: empty address; use unix:///path or tcp://host:port")
	case strings.HasPrefix(address, "unix://"):
		p := strings.TrimPrefix(address, "unix://")
		if p == "" {
			return "", "", fmt.Errorf("wirebus: address %q has no socket path", address)
		}
		return "unix", p, nil
	case strings.HasPrefix(address, "tcp://"), strings.HasPrefix(address, "tls://"):
		scheme := address[:3]
		u, err := url.Parse(address)
		if err != nil || u.Hostname() == "" || u.Port() == "" {
			return "", "", fmt.Errorf("wirebus: address %q is not %s://host:port", address, scheme)
		}
		return scheme, u.Host, nil
	case strings.Contains(address, "://"):
		return "", "", fmt.Errorf("wirebus: address %q has an unknown scheme; use unix://, tcp:// or tls://", address)
	}
	return "unix", address, nil
}

// conn is one handshaken connection: a writer that batches frames from any goroutine into one
// write (whoever finds the connection idle writes for everyone who queued meanwhile), and the
// frame reader the client's read loop uses.
type conn struct {
	nc           net.Conn
	fr           *FrameReader
	address      string
	version      int
	maxFrame     uint32
	storeID      uint64
	serverName   string
	writeTimeout time.Duration
	principal    string // from AUTH_OK ("" without a credential)
	expiresAt    uint64 // AUTH_OK's expiresAtMillis

	mu      sync.Mutex
	out     []byte
	spare   []byte
	writing bool
	werr    error

	goaway atomic.Bool
	done   chan struct{} // closed when the read loop has ended
}

// dialSettings are what one connection attempt needs besides the address.
type dialSettings struct {
	name         string
	helloID      uint64
	authID       uint64
	writeTimeout time.Duration
	credential   []byte      // nil: no AUTH
	tls          *tls.Config // for tls:// addresses
}

// dialConn connects to one address and handshakes (HELLO versions 1..2, then WELCOME, then AUTH
// when there is a credential).
func dialConn(ctx context.Context, address string, ds dialSettings) (*conn, error) {
	network, addr, err := ParseAddress(address)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	dialNet := network
	if network == "tls" {
		dialNet = "tcp"
	}
	nc, err := d.DialContext(ctx, dialNet, addr)
	if err != nil {
		return nil, describeDialError(network, addr, address, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	if network == "tls" {
		cfg := ds.tls
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		} else {
			cfg = cfg.Clone()
		}
		if cfg.ServerName == "" {
			host, _, _ := net.SplitHostPort(addr)
			cfg.ServerName = host
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, &ConnectionError{Msg: "TLS handshake with " + address + " failed", Err: err}
		}
		nc = tc
	}
	name, helloID, writeTimeout := ds.name, ds.helloID, ds.writeTimeout
	hello, _ := EncodeFrame(&Frame{Type: TypeHello, RequestID: helloID, MinVersion: MinProtocolVersion,
		MaxVersion: MaxProtocolVersion, Name: truncateName(name)}, 1)
	if _, err := nc.Write(hello); err != nil {
		nc.Close()
		return nil, &ConnectionError{Msg: "cannot send HELLO to " + address, Err: err}
	}
	fr := NewFrameReader(nc, clientMaxFrameLength, MaxProtocolVersion)
	f, err := fr.Next()
	if err != nil {
		nc.Close()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, &TimeoutError{Msg: "no WELCOME from " + address + " by the connect deadline"}
		}
		return nil, &ConnectionError{Msg: "handshake with " + address + " failed", Err: err}
	}
	if f.Type == TypeError {
		nc.Close()
		return nil, errorFrom(f.Code, "broker "+address+" refused the handshake: "+f.Message, f.Fields)
	}
	if f.Type != TypeWelcome || f.RequestID != helloID {
		nc.Close()
		return nil, &ConnectionError{Msg: fmt.Sprintf("broker %s answered HELLO with %s (request id %d)", address, f.Type, f.RequestID)}
	}
	if f.Version < MinProtocolVersion || f.Version > MaxProtocolVersion {
		nc.Close()
		return nil, &ConnectionError{Msg: fmt.Sprintf("broker %s chose protocol version %d, outside 1..2", address, f.Version)}
	}
	fr.Version = int(f.Version)
	if f.MaxFrameLength > fr.MaxLength {
		fr.MaxLength = f.MaxFrameLength // accept whatever the broker announced
	}
	c := &conn{nc: nc, fr: fr, address: address, version: int(f.Version), maxFrame: f.MaxFrameLength,
		storeID: f.StoreID, serverName: f.Name, writeTimeout: writeTimeout, done: make(chan struct{})}
	if ds.credential != nil {
		if err := c.authenticate(ds.authID, ds.credential); err != nil {
			nc.Close()
			return nil, err
		}
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

// authenticate sends AUTH right after WELCOME (before any other frame) and reads AUTH_OK, within
// the connect deadline already set on the socket.
func (c *conn) authenticate(id uint64, credential []byte) error {
	auth, err := EncodeFrame(&Frame{Type: TypeAuth, RequestID: id, Mechanism: "bearer", Credential: credential}, c.version)
	if err != nil {
		return err
	}
	if _, err := c.nc.Write(auth); err != nil {
		return &ConnectionError{Msg: "cannot send AUTH to " + c.address, Err: err}
	}
	for {
		f, err := c.fr.Next()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return &TimeoutError{Msg: "no answer to AUTH from " + c.address + " by the connect deadline"}
			}
			return &ConnectionError{Msg: "connection to " + c.address + " lost before AUTH was answered", Err: err}
		}
		switch {
		case f.Type == TypePing:
			pong, _ := EncodeFrame(&Frame{Type: TypePong, RequestID: f.RequestID}, c.version)
			c.nc.Write(pong)
			continue
		case f.Type == TypeAuthOK && f.RequestID == id:
			c.principal, c.expiresAt = f.Principal, f.ExpiresAtMillis
			return nil
		case f.Type == TypeError && Known(f.Code) == CodeUnknownFrameType:
			return &AuthUnsupportedError{WireError: WireError{Code: CodeUnknownFrameType, Number: f.Code,
				Message: "broker " + c.address + " does not support authentication (AUTH answered UNKNOWN_FRAME_TYPE: " + f.Message + ")"}}
		case f.Type == TypeError:
			return errorFrom(f.Code, "broker "+c.address+" refused AUTH: "+f.Message, f.Fields)
		default:
			return &ConnectionError{Msg: fmt.Sprintf("broker %s answered AUTH with %s (request id %d)", c.address, f.Type, f.RequestID)}
		}
	}
}

func truncateName(s string) string {
	for len(s) > maxStringBytes {
		s = s[:len(s)-1]
	}
	return s
}

func describeDialError(network, addr, address string, err error) error {
	if network == "unix" {
		if _, serr := os.Stat(addr); serr != nil {
			return &ConnectionError{Msg: "no broker socket at " + addr + " (no such file): is 'wirebus serve' running with this --uds path?"}
		}
		if errors.Is(err, os.ErrPermission) {
			return &ConnectionError{Msg: "permission denied on " + addr + ": the socket file's mode does not let this user connect"}
		}
		return &ConnectionError{Msg: "connection refused at " + addr + ": a socket file is there but no broker accepts on it (a stale file?)", Err: err}
	}
	return &ConnectionError{Msg: "cannot connect to " + address + ": is a broker listening there?", Err: err}
}

// FrameTooLargeError: a frame this client was asked to send exceeds the broker's maxFrameLength.
type FrameTooLargeError struct {
	Length, Max uint32
	What        string
}

func (e *FrameTooLargeError) Error() string {
	return fmt.Sprintf("wirebus: %s would be a frame of %d bytes, above the broker's maximum %d", e.What, e.Length, e.Max)
}

// enqueue encodes f into the output buffer; flush sends it.
func (c *conn) enqueue(f *Frame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	start := len(c.out)
	out, err := AppendFrame(c.out, f, c.version)
	if err != nil {
		return err
	}
	if n := len(out) - start - 4; n > int(c.maxFrame) {
		c.out = out[:start]
		return &FrameTooLargeError{Length: uint32(n), Max: c.maxFrame, What: f.Type.String()}
	}
	c.out = out
	return nil
}

// flush writes whatever is queued, unless another goroutine is writing already (it then writes
// what was queued meanwhile before it stops).
func (c *conn) flush() {
	c.mu.Lock()
	if c.writing || c.werr != nil || len(c.out) == 0 {
		c.mu.Unlock()
		return
	}
	c.writing = true
	for len(c.out) > 0 && c.werr == nil {
		buf := c.out
		c.out = c.spare[:0]
		c.mu.Unlock()
		if c.writeTimeout > 0 {
			c.nc.SetWriteDeadline(time.Now().Add(c.writeTimeout))
		}
		_, err := c.nc.Write(buf)
		c.mu.Lock()
		if cap(buf) <= 4*1024*1024 {
			c.spare = buf[:0]
		} else {
			c.spare = nil
		}
		if err != nil {
			c.werr = &ConnectionError{Msg: "writing to " + c.address + " failed", Err: err}
			c.nc.Close() // the read loop sees it and reports the lost connection
		}
	}
	c.writing = false
	c.mu.Unlock()
}

// send is enqueue + flush for one-way frames; errors only mean the connection is gone.
func (c *conn) send(f *Frame) error {
	if err := c.enqueue(f); err != nil {
		return err
	}
	c.flush()
	return nil
}

func (c *conn) close() { c.nc.Close() }
