// Package brokertest starts real wirebus brokers (java -jar $WIREBUS_JAR serve) and a TCP proxy
// that can cut connections, for tests.
package brokertest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// moduleRoot is the directory of go.mod above the working directory.
func moduleRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// JarPath is the broker jar to test against: $WIREBUS_JAR, else
// ../../wirebus-cli/target/wirebus.jar relative to the Go module.
func JarPath() string {
	if env := os.Getenv("WIREBUS_JAR"); env != "" {
		return env
	}
	return filepath.Join(moduleRoot(), "..", "..", "wirebus-cli", "target", "wirebus.jar")
}

// Jar is JarPath, or skips the test (saying why) when there is no java or no jar; with CI set
// (as CI does) a missing jar fails the test instead.
func Jar(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("java"); err != nil {
		t.Skip("no java on PATH: live broker tests need java and WIREBUS_JAR")
	}
	j := JarPath()
	if _, err := os.Stat(j); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("broker jar %s missing (set WIREBUS_JAR): %v", j, err)
		}
		t.Skipf("no broker jar at %s (set WIREBUS_JAR to a wirebus.jar): %v", j, err)
	}
	return j
}

// Broker is a running broker process.
type Broker struct {
	TCP  string // tcp://127.0.0.1:port
	UDS  string // unix:///path, when started with a socket
	cmd  *exec.Cmd
	done chan struct{}
	log  *strings.Builder
	mu   sync.Mutex
}

// Start runs a memory-store broker on a free TCP port (and a Unix socket when uds is set) and
// waits for its 'ready' line. It is stopped when the test ends.
func Start(t testing.TB, jar string, uds string, extra ...string) *Broker {
	t.Helper()
	args := []string{"-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-jar", jar, "serve", "--store", "memory", "--tcp", "127.0.0.1:0", "--http", "off"}
	if uds != "" {
		args = append(args, "--uds", uds)
	} else {
		args = append(args, "--no-uds")
	}
	args = append(args, extra...)
	b, err := StartArgs(args, 60*time.Second)
	if err != nil {
		t.Fatalf("starting broker %s: %v", jar, err)
	}
	if uds != "" {
		b.UDS = "unix://" + uds
	}
	t.Cleanup(func() {
		b.Stop()
		if t.Failed() {
			t.Logf("broker output:\n%s", b.Output())
		}
	})
	return b
}

// StartServe runs `java -jar jar serve --http off <serve...>` (the caller chooses the store,
// the data directory and the listeners) and waits for 'ready'. It is stopped when the test ends.
func StartServe(t testing.TB, jar string, serve ...string) *Broker {
	t.Helper()
	args := append([]string{"-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-jar", jar, "serve", "--http", "off"}, serve...)
	b, err := StartArgs(args, 60*time.Second)
	if err != nil {
		t.Fatalf("starting broker %s %v: %v", jar, serve, err)
	}
	t.Cleanup(func() {
		b.Stop()
		if t.Failed() {
			t.Logf("broker %v output:\n%s", serve, b.Output())
		}
	})
	return b
}

// FreeHostPort is a 127.0.0.1 port nothing listens on right now (a dead address until a broker
// is started there).
func FreeHostPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// StartArgs runs java with args and waits (up to timeout) for 'ready' on stdout.
func StartArgs(args []string, timeout time.Duration) (*Broker, error) {
	cmd := exec.Command("java", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	b := &Broker{cmd: cmd, done: make(chan struct{}), log: &strings.Builder{}}
	cmd.Stderr = writerFunc(func(p []byte) (int, error) {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.log.Write(p)
	})
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			b.mu.Lock()
			b.log.WriteString(line + "\n")
			b.mu.Unlock()
			if strings.HasPrefix(line, "wirebus listening on tcp://") && b.TCP == "" {
				b.TCP = "tcp://" + strings.TrimSpace(strings.TrimPrefix(line, "wirebus listening on tcp://"))
			}
			if strings.TrimSpace(line) == "ready" && !sent {
				sent = true
				if b.TCP == "" {
					ready <- fmt.Errorf("'ready' without a tcp address:\n%s", b.Output())
				} else {
					ready <- nil
				}
			}
		}
		io.Copy(io.Discard, out)
		if !sent {
			ready <- fmt.Errorf("broker exited before 'ready':\n%s", b.Output())
		}
	}()
	go func() {
		cmd.Wait()
		close(b.done)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err := <-ready:
		if err != nil {
			b.Kill()
			return nil, err
		}
		return b, nil
	case <-timer.C:
		b.Kill()
		return nil, fmt.Errorf("no 'ready' within %v:\n%s", timeout, b.Output())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Output is what the broker printed so far.
func (b *Broker) Output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.log.String()
}

// Stop asks the broker to shut down (SIGTERM: it sends GOAWAY) and waits up to 20 s, then kills it.
func (b *Broker) Stop() {
	select {
	case <-b.done:
		return
	default:
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(20 * time.Second)
	defer t.Stop()
	select {
	case <-b.done:
	case <-t.C:
		b.Kill()
	}
}

// Kill kills the broker at once and waits for it to exit.
func (b *Broker) Kill() {
	b.cmd.Process.Kill()
	<-b.done
}

// Done is closed when the broker process has exited.
func (b *Broker) Done() <-chan struct{} { return b.done }

// HostPort is the broker's TCP host:port.
func (b *Broker) HostPort() string { return strings.TrimPrefix(b.TCP, "tcp://") }

// Proxy forwards TCP connections to a target and can cut them all, or swallow what the broker
// sends (to lose answers on purpose).
type Proxy struct {
	ln     net.Listener
	mu     sync.Mutex
	target string
	conns  map[net.Conn]struct{}
	mute   bool
	wg     sync.WaitGroup
	closed bool
}

// NewProxy listens on 127.0.0.1:0 and forwards to target (host:port). Closed when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's address as tcp://host:port.
func (p *Proxy) Addr() string { return "tcp://" + p.ln.Addr().String() }

// SetTarget makes new connections go to target.
func (p *Proxy) SetTarget(target string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
}

// Mute makes the proxy drop, from now on, everything the broker sends on current and new connections.
func (p *Proxy) Mute(on bool) {
	p.mu.Lock()
	p.mute = on
	p.mu.Unlock()
}

func (p *Proxy) muted() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mute
}

// Cut closes every connection going through the proxy now (both sides) and returns how many.
func (p *Proxy) Cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
		n++
	}
	return n / 2
}

// Close stops the proxy and cuts everything.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.Cut()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		s, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			s.Close()
			return
		}
		p.conns[c] = struct{}{}
		p.conns[s] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(s, c, false)
		go p.pipe(c, s, true)
	}
}

func (p *Proxy) pipe(dst, src net.Conn, fromBroker bool) {
	defer p.wg.Done()
	buf := make([]byte, 64*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 && !(fromBroker && p.muted()) {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	src.Close()
	dst.Close()
	p.mu.Lock()
	delete(p.conns, src)
	delete(p.conns, dst)
	p.mu.Unlock()
}
