//! Authentication (issue 13, client side) against a small scripted broker over real sockets (the
//! real broker's access control lands separately): AUTH goes first after WELCOME on every
//! connection, AUTH_OK gives the principal, AUTH_FAILED / AUTH_EXPIRED / PERMISSION_DENIED are
//! typed errors. The Rust client has no TLS (std only): `tls://` is refused with advice.

use std::collections::HashMap;
use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use wirebus::codec::{self, Frame, FrameReader};
use wirebus::*;

/// token -> (principal, expiresAtMillis, streams it may publish to); expiresAtMillis below
/// 100 000 is a time to live in milliseconds from the AUTH
type Tokens = HashMap<&'static str, (&'static str, u64, Vec<&'static str>)>;

struct Fake {
    address: String,
    /// frame type names each connection sent, in order
    conns: Arc<Mutex<Vec<Vec<&'static str>>>>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Fake {
    fn start(tokens: Tokens, auth_supported: bool) -> Fake {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("tcp://{}", l.local_addr().unwrap());
        let conns: Arc<Mutex<Vec<Vec<&'static str>>>> = Arc::new(Mutex::new(Vec::new()));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::new(Mutex::new(Vec::new()));
        let tokens = Arc::new(tokens);
        let seqs: Arc<Mutex<HashMap<String, u64>>> = Arc::new(Mutex::new(HashMap::new()));
        let (c2, o2) = (conns.clone(), open.clone());
        thread::spawn(move || {
            for s in l.incoming() {
                let s = match s {
                    Ok(s) => s,
                    Err(_) => return,
                };
                let idx = {
                    let mut c = c2.lock().unwrap();
                    c.push(Vec::new());
                    c.len() - 1
                };
                o2.lock().unwrap().push(s.try_clone().unwrap());
                let (c3, tokens, seqs) = (c2.clone(), tokens.clone(), seqs.clone());
                thread::spawn(move || serve(s, idx, c3, tokens, seqs, auth_supported));
            }
        });
        Fake { address, conns, open }
    }

    fn connections(&self) -> Vec<Vec<&'static str>> {
        self.conns.lock().unwrap().clone()
    }

    /// Closes every connection, first sending `f` on each when given.
    fn drop_all(&self, f: Option<Frame>) {
        for mut s in self.open.lock().unwrap().drain(..) {
            if let Some(f) = &f {
                let _ = s.write_all(&codec::encode(f, 2));
            }
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

fn serve(
    s: TcpStream,
    idx: usize,
    conns: Arc<Mutex<Vec<Vec<&'static str>>>>,
    tokens: Arc<Tokens>,
    seqs: Arc<Mutex<HashMap<String, u64>>>,
    auth_supported: bool,
) {
    let mut w = s.try_clone().unwrap();
    let mut r = FrameReader::new(s, 1 << 20, 2);
    let mut who: Option<(&'static str, u64, Vec<&'static str>)> = None;
    let mut send = |f: Frame| {
        let _ = w.write_all(&codec::encode(&f, 2));
    };
    while let Ok(f) = r.read_frame() {
        conns.lock().unwrap()[idx].push(f.type_name());
        match f {
            Frame::Hello { request_id, .. } => send(Frame::Welcome {
                request_id,
                version: 2,
                max_frame_length: 1 << 20,
                store_id: 77,
                server_name: "fake".into(),
            }),
            Frame::Auth { request_id, mechanism, credential } => {
                if !auth_supported {
                    send(Frame::Error { request_id, code: 3, message: "AUTH is not supported by this broker yet".into(), fields: vec![] });
                    return;
                }
                match tokens.get(String::from_utf8_lossy(&credential).as_ref()) {
                    Some(p) if mechanism == "bearer" => {
                        who = Some(p.clone());
                        let mut exp = p.1;
                        if exp != 0 && exp < 100_000 {
                            exp += std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
                        }
                        send(Frame::AuthOk { request_id, principal: p.0.into(), expires_at_millis: exp });
                    }
                    _ => {
                        send(Frame::Error { request_id, code: 40, message: "credential unknown".into(), fields: vec![] });
                        return;
                    }
                }
            }
            Frame::Publish { request_id, stream, .. } => {
                let allowed = who.as_ref().map(|p| p.2.contains(&stream.as_str())).unwrap_or(false);
                if !allowed {
                    let name = who.as_ref().map(|p| p.0).unwrap_or("anonymous");
                    send(Frame::Error {
                        request_id,
                        code: 33,
                        message: format!("publish on '{}' is not permitted for '{}'", stream, name),
                        fields: vec![],
                    });
                    continue;
                }
                let seq = {
                    let mut m = seqs.lock().unwrap();
                    let e = m.entry(stream).or_insert(0);
                    *e += 1;
                    *e
                };
                send(Frame::PublishAck { request_id, first_sequence: seq, count: 1, duplicate: false });
            }
            Frame::Ping { request_id } => send(Frame::Pong { request_id }),
            _ => {}
        }
    }
}

fn tokens() -> Tokens {
    let mut t = Tokens::new();
    t.insert("s3cret-token", ("committer", 0, vec!["blocks"]));
    t.insert("observer-token", ("observer", 1764806400000, vec![]));
    t.insert("fresh-token", ("committer-2", 0, vec!["blocks"]));
    t.insert("short-token", ("short", 2000, vec!["blocks"]));
    t
}

fn fast() -> ReconnectPolicy {
    ReconnectPolicy { initial: Duration::from_millis(5), max: Duration::from_millis(50), max_attempts: u32::MAX }
}

/// Polls `cond` until true or 20 s (pacing of a poll with a deadline, not a synchronisation).
fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < end, "{}: not within 20 s", what);
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn auth_goes_first_on_every_connection() {
    let fake = Fake::start(tokens(), true);
    let c = Client::connect(ClientOptions::new(&[&fake.address]).token("s3cret-token").reconnect(fast())).unwrap();
    assert_eq!(c.principal(), Some(AuthInfo { principal: "committer".into(), expires_at_millis: 0 }));
    assert_eq!(c.publish("blocks", b"b1").unwrap(), 1);
    assert_eq!(fake.connections()[0][..3], ["HELLO", "AUTH", "PUBLISH"]);
    fake.drop_all(None);
    wait_for("reconnected", || fake.connections().len() >= 2 && c.state() == ConnectionState::Connected);
    assert_eq!(c.publish("blocks", b"b2").unwrap(), 2);
    let conns = fake.connections();
    assert_eq!(conns[conns.len() - 1][..3], ["HELLO", "AUTH", "PUBLISH"]);
}

#[test]
fn no_token_no_auth_frame_and_permission_denied_is_typed() {
    let fake = Fake::start(tokens(), true);
    let c = Client::connect(ClientOptions::new(&[&fake.address])).unwrap();
    assert_eq!(c.principal(), None);
    match c.publish("blocks", b"x") {
        Err(Error::PermissionDenied { message }) => assert!(message.contains("publish on 'blocks'"), "{}", message),
        other => panic!("anonymous publish: {:?}", other),
    }
    assert_eq!(fake.connections()[0][..2], ["HELLO", "PUBLISH"]);
}

#[test]
fn auth_failed_is_typed_and_final() {
    let fake = Fake::start(tokens(), true);
    let other = Fake::start(tokens(), true);
    let e = Client::connect(ClientOptions::new(&[&fake.address, &other.address]).token("wrong")).err().unwrap();
    assert!(matches!(e, Error::AuthFailed { .. }), "{:?}", e);
    assert_eq!((e.wire_code(), e.name()), (40, "AUTH_FAILED"));
    assert!(other.connections().is_empty(), "the refused credential was not tried on the next address");
}

#[test]
fn permission_denied_keeps_the_connection() {
    let fake = Fake::start(tokens(), true);
    let c = Client::connect(ClientOptions::new(&[&fake.address]).token("observer-token")).unwrap();
    assert_eq!(c.principal(), Some(AuthInfo { principal: "observer".into(), expires_at_millis: 1764806400000 }));
    let e = c.publish("blocks", b"x").unwrap_err();
    assert_eq!((e.wire_code(), e.name()), (33, "PERMISSION_DENIED"));
    c.ping().unwrap();
    assert_eq!(fake.connections().len(), 1);
}

#[test]
fn expired_then_the_provider_gives_a_fresh_token() {
    let fake = Fake::start(tokens(), true);
    let issued = Arc::new(Mutex::new(Vec::<String>::new()));
    let expired = Arc::new(Mutex::new(Vec::<Error>::new()));
    let (i2, e2) = (issued.clone(), expired.clone());
    let c = Client::connect(
        ClientOptions::new(&[&fake.address])
            .reconnect(fast())
            .token_provider(move || {
                let mut i = i2.lock().unwrap();
                let t = if i.is_empty() { "s3cret-token" } else { "fresh-token" };
                i.push(t.to_string());
                Ok(t.to_string())
            })
            .listener(move |ev| {
                if let Event::Error(e @ Error::AuthExpired { .. }) = ev {
                    e2.lock().unwrap().push(e);
                }
            }),
    )
    .unwrap();
    assert_eq!(c.principal().unwrap().principal, "committer");
    fake.drop_all(Some(Frame::Error { request_id: 0, code: 41, message: "credential expired".into(), fields: vec![] }));
    wait_for("reconnected with a fresh token", || {
        c.principal().map(|p| p.principal == "committer-2").unwrap_or(false) && c.state() == ConnectionState::Connected
    });
    assert_eq!(c.publish("blocks", b"after").unwrap(), 1);
    assert_eq!(*issued.lock().unwrap(), vec!["s3cret-token".to_string(), "fresh-token".to_string()]);
    let ex = expired.lock().unwrap();
    assert!(!ex.is_empty(), "AUTH_EXPIRED reported as Error::AuthExpired");
    assert_eq!(ex[0].wire_code(), 41);
}

#[test]
fn an_expiring_token_is_refreshed_on_the_open_connection() {
    let fake = Fake::start(tokens(), true);
    let calls = Arc::new(Mutex::new(0u32));
    let c2 = calls.clone();
    let c = Client::connect(ClientOptions::new(&[&fake.address]).reconnect(fast()).token_provider(move || {
        *c2.lock().unwrap() += 1;
        Ok("short-token".to_string())
    }))
    .unwrap();
    let first = c.principal().unwrap().expires_at_millis;
    assert!(first > 0);
    wait_for("two refreshes on the open connection", || {
        let conns = fake.connections();
        conns[0].len() >= 4 && conns[0][..4] == ["HELLO", "AUTH", "AUTH", "AUTH"] && c.principal().unwrap().expires_at_millis > first
    });
    assert_eq!(fake.connections().len(), 1, "the refresh goes on the open connection");
    assert!(*calls.lock().unwrap() >= 3);
}

#[test]
fn reauth_replaces_the_principal() {
    let fake = Fake::start(tokens(), true);
    let c = Client::connect(ClientOptions::new(&[&fake.address]).token("observer-token").reconnect(fast())).unwrap();
    let info = c.auth("fresh-token").unwrap();
    assert_eq!(info, AuthInfo { principal: "committer-2".into(), expires_at_millis: 0 });
    assert_eq!(c.principal(), Some(info));
    assert_eq!(c.publish("blocks", b"x").unwrap(), 1);
    assert!(matches!(c.auth("nope"), Err(Error::AuthFailed { .. })));
}

#[test]
fn a_broker_without_auth_and_tls_addresses_are_refused_clearly() {
    let fake = Fake::start(tokens(), false);
    let e = Client::connect(ClientOptions::new(&[&fake.address]).token("s3cret-token")).err().unwrap();
    assert!(e.message().contains("does not support authentication"), "{}", e);
    let e = Client::connect(ClientOptions::new(&["tls://127.0.0.1:7443"])).err().unwrap();
    assert!(e.message().contains("no TLS"), "{}", e);
}
