//! One connection to a broker: addresses (`unix:///path`, `tcp://host:port`), the socket, the
//! HELLO/WELCOME handshake (then AUTH when there is a credential), and the reconnect backoff
//! policy.
//!
//! There is no TLS: the Rust standard library has none and this crate takes no dependencies.
//! Reach a TLS listener through a local TLS-terminating proxy (for example stunnel or socat with
//! OPENSSL, listening on loopback or a Unix socket), or use the broker's Unix socket. A
//! `tls://` address is refused with that advice.

use crate::codec::{self, Frame, FrameReader, ReadError, MAX_VERSION, MIN_VERSION};
use crate::error::{Error, Result};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where a broker listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Unix(PathBuf),
    Tcp(String),
}

impl Address {
    /// `unix:///path`, `tcp://host:port`, or a bare socket path.
    pub fn parse(s: &str) -> Result<Address> {
        if let Some(p) = s.strip_prefix("unix://") {
            if p.is_empty() {
                return Err(Error::client(format!("address '{}' has no socket path", s)));
            }
            Ok(Address::Unix(PathBuf::from(p)))
        } else if let Some(hp) = s.strip_prefix("tcp://") {
            let hp = hp.trim_end_matches('/');
            match hp.rsplit_once(':') {
                Some((h, p)) if !h.is_empty() && p.parse::<u16>().is_ok() => Ok(Address::Tcp(hp.to_string())),
                _ => Err(Error::client(format!("address '{}' is not tcp://host:port", s))),
            }
        } else if s.starts_with("tls://") {
            Err(Error::client(format!(
                "address '{}': the Rust client has no TLS (std only); connect through a local TLS proxy \
                 (e.g. stunnel) on loopback or a Unix socket, or use the broker's Unix socket",
                s
            )))
        } else if s.contains("://") {
            Err(Error::client(format!("address '{}': scheme must be unix:// or tcp://", s)))
        } else if s.is_empty() {
            Err(Error::client("empty address"))
        } else {
            Ok(Address::Unix(PathBuf::from(s)))
        }
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Unix(p) => write!(f, "unix://{}", p.display()),
            Address::Tcp(hp) => write!(f, "tcp://{}", hp),
        }
    }
}

/// A connected socket of either kind.
#[derive(Debug)]
pub enum Transport {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Transport {
    pub fn connect(addr: &Address, timeout: Duration) -> Result<Transport> {
        match addr {
            Address::Unix(p) => {
                let s = UnixStream::connect(p).map_err(|e| {
                    let why = match e.kind() {
                        io::ErrorKind::NotFound => "no such socket file: is 'wirebus serve' running with this --uds path?".to_string(),
                        io::ErrorKind::PermissionDenied => "permission denied on the socket file".to_string(),
                        io::ErrorKind::ConnectionRefused => "connection refused: a socket file is there but no broker accepts on it".to_string(),
                        _ => e.to_string(),
                    };
                    Error::connection(format!("cannot connect to {}: {}", addr, why))
                })?;
                Ok(Transport::Unix(s))
            }
            Address::Tcp(hp) => {
                let addrs: Vec<_> = hp
                    .to_socket_addrs()
                    .map_err(|e| Error::connection(format!("cannot resolve {}: {}", addr, e)))?
                    .collect();
                let mut last = None;
                for a in addrs {
                    match TcpStream::connect_timeout(&a, timeout) {
                        Ok(s) => {
                            let _ = s.set_nodelay(true);
                            return Ok(Transport::Tcp(s));
                        }
                        Err(e) => last = Some(e),
                    }
                }
                Err(Error::connection(format!(
                    "cannot connect to {}: {}",
                    addr,
                    last.map(|e| e.to_string()).unwrap_or_else(|| "no address".into())
                )))
            }
        }
    }
    pub fn try_clone(&self) -> io::Result<Transport> {
        Ok(match self {
            Transport::Tcp(s) => Transport::Tcp(s.try_clone()?),
            Transport::Unix(s) => Transport::Unix(s.try_clone()?),
        })
    }
    pub fn shutdown(&self) {
        let _ = match self {
            Transport::Tcp(s) => s.shutdown(Shutdown::Both),
            Transport::Unix(s) => s.shutdown(Shutdown::Both),
        };
    }
    pub fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.set_read_timeout(d),
            Transport::Unix(s) => s.set_read_timeout(d),
        }
    }
    pub fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        match self {
            Transport::Tcp(s) => s.set_write_timeout(d),
            Transport::Unix(s) => s.set_write_timeout(d),
        }
    }
}

impl Read for Transport {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.read(b),
            Transport::Unix(s) => s.read(b),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(s) => s.write(b),
            Transport::Unix(s) => s.write(b),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What the broker said in WELCOME.
#[derive(Debug, Clone)]
pub struct Welcome {
    pub version: u16,
    pub max_frame_length: u32,
    pub store_id: u64,
    pub server_name: String,
    /// AUTH_OK's principal, when a credential was sent.
    pub principal: Option<String>,
    /// AUTH_OK's expiresAtMillis (epoch ms; 0 = never or no credential).
    pub expires_at_millis: u64,
}

/// A handshaken connection: the socket for writing, a reader for frames.
pub struct Connected {
    pub address: Address,
    pub writer: Transport,
    pub reader: FrameReader<Transport>,
    pub welcome: Welcome,
}

/// The largest frame this client accepts before WELCOME says otherwise, and its cap afterwards
/// (a broker announcing more still gets its frames read up to this).
pub const CLIENT_MAX_FRAME_LENGTH: u32 = 64 * 1024 * 1024;

/// Connects to `addr` and completes the handshake (HELLO versions 1..2) within `timeout`.
pub fn connect_and_handshake(addr: &Address, name: &str, timeout: Duration, hello_id: u64) -> Result<Connected> {
    connect_and_authenticate(addr, name, timeout, hello_id, None)
}

/// The handshake, then AUTH (mechanism bearer, request id `auth.0`, credential `auth.1`) before
/// anything else when a credential is given: AUTH_OK fills the welcome's principal; AUTH_FAILED
/// is `Error::AuthFailed`; a broker that predates AUTH answers UNKNOWN_FRAME_TYPE
/// (`Error::Protocol` saying so).
pub fn connect_and_authenticate(
    addr: &Address,
    name: &str,
    timeout: Duration,
    hello_id: u64,
    auth: Option<(u64, &[u8])>,
) -> Result<Connected> {
    let deadline = Instant::now() + timeout;
    let t = Transport::connect(addr, timeout)?;
    let io_err = |e: io::Error| Error::connection(format!("handshake with {} failed: {}", addr, e));
    t.set_read_timeout(Some(timeout)).map_err(io_err)?;
    t.set_write_timeout(Some(timeout)).map_err(io_err)?;
    let mut w = t.try_clone().map_err(io_err)?;
    let hello = Frame::Hello { request_id: hello_id, min_version: MIN_VERSION, max_version: MAX_VERSION, client_name: name.to_string() };
    w.write_all(&codec::encode(&hello, 1)).map_err(io_err)?;
    let mut reader = FrameReader::new(t, CLIENT_MAX_FRAME_LENGTH, 1);
    let frame = match reader.read_frame() {
        Ok(f) => f,
        Err(ReadError::Io(e)) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
            return Err(Error::connection(format!("no WELCOME from {} within {} ms", addr, timeout.as_millis())))
        }
        Err(ReadError::Eof) => return Err(Error::connection(format!("connection to {} closed during the handshake", addr))),
        Err(ReadError::Io(e)) => return Err(io_err(e)),
        Err(ReadError::Frame(e)) => {
            return Err(Error::Protocol { code: e.code, message: format!("broker {} sent a bad frame in the handshake: {}", addr, e) })
        }
    };
    let welcome = match frame {
        Frame::Welcome { request_id, version, max_frame_length, store_id, server_name } if request_id == hello_id => {
            if !(MIN_VERSION..=MAX_VERSION).contains(&version) {
                return Err(Error::Protocol {
                    code: codec::ErrorCode::UnsupportedVersion,
                    message: format!("broker {} chose version {}, this client speaks {}..{}", addr, version, MIN_VERSION, MAX_VERSION),
                });
            }
            Welcome { version, max_frame_length, store_id, server_name, principal: None, expires_at_millis: 0 }
        }
        Frame::Error { code, message, fields, .. } => return Err(Error::from_wire(code, message, &fields)),
        other => {
            return Err(Error::Protocol {
                code: codec::ErrorCode::MalformedFrame,
                message: format!("broker {} answered HELLO with {}", addr, other.type_name()),
            })
        }
    };
    let mut welcome = welcome;
    reader.version = welcome.version;
    if let Some((auth_id, credential)) = auth {
        let f = Frame::Auth { request_id: auth_id, mechanism: "bearer".to_string(), credential: credential.to_vec() };
        w.write_all(&codec::encode(&f, welcome.version)).map_err(io_err)?;
        loop {
            match reader.read_frame() {
                Ok(Frame::AuthOk { request_id, principal, expires_at_millis }) if request_id == auth_id => {
                    welcome.principal = Some(principal);
                    welcome.expires_at_millis = expires_at_millis;
                    break;
                }
                Ok(Frame::Ping { request_id }) => {
                    w.write_all(&codec::encode(&Frame::Pong { request_id }, welcome.version)).map_err(io_err)?;
                }
                Ok(Frame::Error { code, message, .. }) if code == codec::ErrorCode::UnknownFrameType.code() => {
                    return Err(Error::Protocol {
                        code: codec::ErrorCode::UnknownFrameType,
                        message: format!("broker {} does not support authentication (AUTH answered UNKNOWN_FRAME_TYPE: {})", addr, message),
                    })
                }
                Ok(Frame::Error { code, message, fields, .. }) => {
                    return Err(Error::from_wire(code, format!("broker {} refused AUTH: {}", addr, message), &fields))
                }
                Ok(other) => {
                    return Err(Error::Protocol {
                        code: codec::ErrorCode::MalformedFrame,
                        message: format!("broker {} answered AUTH with {}", addr, other.type_name()),
                    })
                }
                Err(ReadError::Io(e)) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return Err(Error::connection(format!("no answer to AUTH from {} within {} ms", addr, timeout.as_millis())))
                }
                Err(ReadError::Eof) => return Err(Error::connection(format!("connection to {} closed before AUTH was answered", addr))),
                Err(ReadError::Io(e)) => return Err(io_err(e)),
                Err(ReadError::Frame(e)) => {
                    return Err(Error::Protocol { code: e.code, message: format!("broker {} sent a bad frame after AUTH: {}", addr, e) })
                }
            }
        }
    }
    if Instant::now() > deadline {
        return Err(Error::connection(format!("handshake with {} took longer than {} ms", addr, timeout.as_millis())));
    }
    reader.max_frame_length = CLIENT_MAX_FRAME_LENGTH.max(welcome.max_frame_length);
    reader.inner_ref().set_read_timeout(None).map_err(io_err)?;
    Ok(Connected { address: addr.clone(), writer: w, reader, welcome })
}

/// Capped exponential backoff with ±20 % jitter, for a number of attempts per outage.
#[derive(Debug, Clone)]
pub struct ReconnectPolicy {
    pub initial: Duration,
    pub max: Duration,
    /// Attempts per outage (each attempt tries every address once); u32::MAX = forever, 0 = never.
    pub max_attempts: u32,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy { initial: Duration::from_millis(20), max: Duration::from_secs(2), max_attempts: u32::MAX }
    }
}

impl ReconnectPolicy {
    pub fn never() -> Self {
        ReconnectPolicy { initial: Duration::ZERO, max: Duration::ZERO, max_attempts: 0 }
    }
    /// Delay before attempt `attempt` (1-based) of one outage.
    pub fn delay(&self, attempt: u32) -> Duration {
        let mut base = self.initial;
        for _ in 1..attempt.min(40) {
            if base >= self.max {
                break;
            }
            base *= 2;
        }
        let base = base.min(self.max);
        let jitter = 0.8 + 0.4 * random_unit();
        base.mul_f64(jitter)
    }
}

/// A number in [0, 1) from a per-thread xorshift seeded by the clock (jitter needs no quality).
fn random_unit() -> f64 {
    use std::cell::Cell;
    thread_local!(static STATE: Cell<u64> = Cell::new(0));
    STATE.with(|s| {
        let mut x = s.get();
        if x == 0 {
            x = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1) | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(Address::parse("unix:///tmp/x.sock").unwrap(), Address::Unix("/tmp/x.sock".into()));
        assert_eq!(Address::parse("tcp://127.0.0.1:7440").unwrap(), Address::Tcp("127.0.0.1:7440".into()));
        assert_eq!(Address::parse("/run/w.sock").unwrap(), Address::Unix("/run/w.sock".into()));
        assert!(Address::parse("tcp://host").is_err());
        assert!(Address::parse("http://x:1").is_err());
        assert!(Address::parse("unix://").is_err());
        assert_eq!(Address::parse("tcp://h:1").unwrap().to_string(), "tcp://h:1");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let p = ReconnectPolicy { initial: Duration::from_millis(100), max: Duration::from_millis(1000), max_attempts: 5 };
        for _ in 0..50 {
            let d1 = p.delay(1).as_millis();
            assert!((80..=120).contains(&d1), "{}", d1);
            let d3 = p.delay(3).as_millis();
            assert!((320..=480).contains(&d3), "{}", d3);
            let d9 = p.delay(9).as_millis();
            assert!((800..=1200).contains(&d9), "{}", d9);
        }
    }

    #[test]
    fn handshake_against_a_fake_broker_picks_the_version_and_reports_refusals() {
        use std::net::TcpListener;
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = Address::Tcp(l.local_addr().unwrap().to_string());
        let srv = std::thread::spawn(move || {
            for answer in 0..2 {
                let (s, _) = l.accept().unwrap();
                let mut w = s.try_clone().unwrap();
                let mut r = FrameReader::new(s, 1 << 20, 1);
                let hello = r.read_frame().unwrap();
                let id = hello.request_id();
                assert!(matches!(hello, Frame::Hello { min_version: 1, max_version: 2, .. }));
                let f = if answer == 0 {
                    Frame::Welcome { request_id: id, version: 2, max_frame_length: 1 << 20, store_id: 7, server_name: "fake".into() }
                } else {
                    Frame::Error { request_id: id, code: 35, message: "too many connections".into(), fields: vec![] }
                };
                w.write_all(&codec::encode(&f, 1)).unwrap();
            }
        });
        let c = connect_and_handshake(&addr, "t", Duration::from_secs(5), 1).unwrap();
        assert_eq!((c.welcome.version, c.welcome.store_id, c.reader.version), (2, 7, 2));
        let e = connect_and_handshake(&addr, "t", Duration::from_secs(5), 1).err().unwrap();
        assert_eq!(e.name(), "CONNECTION_LIMIT");
        srv.join().unwrap();
    }
}
