//! Test support: a real broker started from $WIREBUS_JAR on a free port, and a TCP proxy that
//! can cut every connection or swallow the broker's answers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

pub fn jar() -> String {
    match std::env::var("WIREBUS_JAR") {
        Ok(j) if !j.is_empty() => j,
        _ => concat!(env!("CARGO_MANIFEST_DIR"), "/../../wirebus-cli/target/wirebus.jar").to_string(),
    }
}

pub struct Broker {
    child: Child,
    /// tcp://127.0.0.1:PORT or unix:///path
    pub address: String,
    pub port: u16,
}

impl Broker {
    pub fn start() -> Broker {
        Broker::start_with(&[])
    }

    /// A broker with memory storage on a free TCP port; `extra` adds flags.
    pub fn start_with(extra: &[&str]) -> Broker {
        let mut args = vec!["serve", "--store", "memory", "--no-uds", "--tcp", "127.0.0.1:0", "--http", "off"];
        args.extend_from_slice(extra);
        Broker::spawn(&args)
    }

    /// A broker with memory storage on the given TCP host:port.
    pub fn start_with_tcp(hostport: &str) -> Broker {
        Broker::spawn(&["serve", "--store", "memory", "--no-uds", "--tcp", hostport, "--http", "off"])
    }

    /// A broker listening on a Unix socket only.
    pub fn start_uds(path: &str) -> Broker {
        Broker::spawn(&["serve", "--store", "memory", "--uds", path, "--no-tcp", "--http", "off"])
    }

    /// `java -jar JAR <args>` (the caller chooses store, data directory and listeners).
    pub fn start_args(args: &[&str]) -> Broker {
        Broker::spawn(args)
    }

    /// SIGKILL: no GOAWAY, connections just drop.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn spawn(args: &[&str]) -> Broker {
        Broker::try_spawn(args).unwrap_or_else(|e| panic!("{}", e))
    }

    /// Like `start_args`, but a broker that exits before 'ready' is an error carrying what it
    /// printed (stdout and stderr).
    pub fn try_spawn(args: &[&str]) -> Result<Broker, String> {
        let jar = jar();
        assert!(std::path::Path::new(&jar).exists(), "broker jar {} not found: set WIREBUS_JAR", jar);
        let mut child = Command::new("java")
            .arg("-jar")
            .arg(&jar)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("java runs");
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let tx2 = tx.clone();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                match line {
                    Ok(l) => {
                        let _ = tx.send(l);
                    }
                    Err(_) => return,
                }
            }
        });
        // stderr lines go to the same channel until 'ready' (then they are drained and dropped)
        thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                match line {
                    Ok(l) => {
                        let _ = tx2.send(l);
                    }
                    Err(_) => return,
                }
            }
        });
        let mut address = None;
        let mut seen = Vec::new();
        loop {
            let line = match rx.recv_timeout(Duration::from_secs(90)) {
                Ok(l) => l,
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("broker did not print 'ready' within 90 s (or exited): {}", seen.join("\n")));
                }
            };
            seen.push(line.clone());
            if let Some(a) = line.strip_prefix("wirebus listening on ") {
                address = Some(a.trim().to_string());
            }
            if line.trim() == "ready" {
                break;
            }
        }
        let address = address.expect("broker printed its address");
        let port = address.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(0);
        // keep draining stdout and stderr so the broker never blocks on them
        thread::spawn(move || for _ in rx.iter() {});
        Ok(Broker { child, address, port })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM: the broker shuts down gracefully (GOAWAY to every connection).
    pub fn terminate(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A 127.0.0.1 port nothing listens on right now (a dead address until a broker starts there).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A TCP proxy in front of a broker. `cut` closes every connection through it (clients see
/// their connection drop and reconnect through it); `swallow(true)` discards what the broker
/// sends (answers get lost) while still forwarding what clients send.
pub struct Proxy {
    pub address: String,
    conns: Arc<Mutex<Vec<(TcpStream, TcpStream)>>>,
    swallow: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl Proxy {
    pub fn new(upstream_port: u16) -> Proxy {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let conns: Arc<Mutex<Vec<(TcpStream, TcpStream)>>> = Arc::new(Mutex::new(Vec::new()));
        let swallow = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (c2, s2, st2) = (conns.clone(), swallow.clone(), stop.clone());
        thread::spawn(move || {
            for client in l.incoming() {
                if st2.load(Ordering::SeqCst) {
                    return;
                }
                let client = match client {
                    Ok(c) => c,
                    Err(_) => continue,
                };
                let up = match TcpStream::connect(("127.0.0.1", upstream_port)) {
                    Ok(u) => u,
                    Err(_) => continue,
                };
                let _ = client.set_nodelay(true);
                let _ = up.set_nodelay(true);
                c2.lock().unwrap().push((client.try_clone().unwrap(), up.try_clone().unwrap()));
                pump(client.try_clone().unwrap(), up.try_clone().unwrap(), None);
                pump(up, client, Some(s2.clone()));
            }
        });
        Proxy { address: format!("tcp://127.0.0.1:{}", port), conns, swallow, stop, port }
    }

    /// Closes every connection through the proxy now.
    pub fn cut(&self) {
        for (a, b) in self.conns.lock().unwrap().drain(..) {
            let _ = a.shutdown(Shutdown::Both);
            let _ = b.shutdown(Shutdown::Both);
        }
    }

    pub fn swallow(&self, on: bool) {
        self.swallow.store(on, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut();
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept loop
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, swallow: Option<Arc<AtomicBool>>) {
    thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if swallow.as_ref().map(|s| s.load(Ordering::SeqCst)) == Some(true) {
                continue;
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}
