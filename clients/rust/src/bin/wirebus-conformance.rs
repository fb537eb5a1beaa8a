//! The conformance driver (SPEC.md, "Conformance driver protocol"): JSON commands, one per line
//! on stdin; exactly one JSON answer per line on stdout for each, in order; logs on stderr;
//! exit 0 at end of input.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};
use wirebus::json::{self, from_hex, to_hex, Json};
use wirebus::{AckMode, Client, ClientOptions, Error, PublishOptions, Responder, Start, SubscribeOptions, Subscription};

struct Driver {
    client: Option<Client>,
    subs: HashMap<String, Subscription>,
    responders: Vec<Responder>,
}

type Answer = Result<Vec<(&'static str, Json)>, Error>;

fn bad(m: impl Into<String>) -> Error {
    Error::Client { message: m.into() }
}

fn field<'a>(c: &'a Json, k: &str) -> Result<&'a Json, Error> {
    c.get(k).ok_or_else(|| bad(format!("missing field '{}'", k)))
}
fn text<'a>(c: &'a Json, k: &str) -> Result<&'a str, Error> {
    field(c, k)?.as_str().ok_or_else(|| bad(format!("field '{}' is not a string", k)))
}
fn num(c: &Json, k: &str) -> Result<u64, Error> {
    field(c, k)?.as_u64().ok_or_else(|| bad(format!("field '{}' is not a non-negative integer", k)))
}
fn opt_num(c: &Json, k: &str) -> Result<Option<u64>, Error> {
    match c.get(k) {
        None | Some(Json::Null) => Ok(None),
        Some(_) => num(c, k).map(Some),
    }
}
fn hex(c: &Json, k: &str) -> Result<Vec<u8>, Error> {
    from_hex(text(c, k)?).map_err(|e| bad(format!("field '{}': {}", k, e)))
}
fn start(c: &Json) -> Result<Start, Error> {
    match c.get("start") {
        None => Ok(Start::Earliest),
        Some(Json::Str(s)) if s == "earliest" => Ok(Start::Earliest),
        Some(Json::Str(s)) if s == "latest" => Ok(Start::Latest),
        Some(o @ Json::Obj(_)) => Ok(Start::Sequence(num(o, "sequence")?)),
        Some(other) => Err(bad(format!("bad start {}", other.to_text()))),
    }
}
fn messages(ms: &[wirebus::Message]) -> Json {
    Json::Arr(ms.iter().map(|m| Json::obj(vec![("sequence", Json::num(m.sequence)), ("payload", Json::str(to_hex(&m.payload)))])).collect())
}

fn error_json(e: &Error) -> Json {
    let fields = Json::Obj(e.fields().named().into_iter().map(|(k, v)| (k.to_string(), Json::num(v))).collect());
    Json::obj(vec![
        ("code", Json::Num(e.wire_code().to_string())),
        ("name", Json::str(e.name())),
        ("message", Json::str(e.message())),
        ("fields", fields),
    ])
}

impl Driver {
    fn client(&self) -> Result<&Client, Error> {
        self.client.as_ref().ok_or_else(|| Error::Connection { message: "not connected".into() })
    }

    fn close(&mut self) {
        self.subs.clear();
        self.responders.clear();
        if let Some(c) = self.client.take() {
            c.close();
        }
    }

    /// Runs one command; `extra` gets fields that go with an error answer (take's messages).
    fn run(&mut self, c: &Json, extra: &mut Vec<(&'static str, Json)>) -> Answer {
        let cmd = text(c, "cmd")?;
        match cmd {
            "connect" => {
                self.close();
                let addrs: Vec<String> = field(c, "addresses")?
                    .as_array()
                    .ok_or_else(|| bad("addresses is not a list"))?
                    .iter()
                    .map(|a| a.as_str().map(str::to_string).ok_or_else(|| bad("an address is not a string")))
                    .collect::<Result<_, _>>()?;
                let refs: Vec<&str> = addrs.iter().map(|s| s.as_str()).collect();
                let mut o = ClientOptions::new(&refs);
                if let Some(n) = c.get("name").and_then(|n| n.as_str()) {
                    o.name = n.to_string();
                }
                if let Some(t) = c.get("token").and_then(|t| t.as_str()) {
                    o = o.token(t);
                }
                o = o.listener(|e| eprintln!("wirebus-conformance: {:?}", e));
                let client = Client::connect(o)?;
                let v = client.protocol_version();
                let principal = client.principal();
                self.client = Some(client);
                let mut out = vec![("version", Json::num(v))];
                if let Some(p) = principal {
                    out.push(("principal", Json::str(&p.principal)));
                }
                Ok(out)
            }
            "auth" => {
                let info = self.client()?.auth(text(c, "token")?)?;
                Ok(vec![("principal", Json::str(&info.principal)), ("expiresAtMillis", Json::num(info.expires_at_millis))])
            }
            "publish" => {
                let opts = PublishOptions { expected_sequence: opt_num(c, "expectedSequence")?.unwrap_or(0), ..Default::default() };
                let ack = self.client()?.publish_with(text(c, "stream")?, &hex(c, "payload")?, &opts)?;
                Ok(vec![("sequence", Json::num(ack.first_sequence))])
            }
            "publishBatch" => {
                let payloads: Vec<Vec<u8>> = field(c, "payloads")?
                    .as_array()
                    .ok_or_else(|| bad("payloads is not a list"))?
                    .iter()
                    .map(|p| p.as_str().ok_or_else(|| bad("a payload is not a string")).and_then(|s| from_hex(s).map_err(bad)))
                    .collect::<Result<_, _>>()?;
                let mut opts = PublishOptions { expected_sequence: opt_num(c, "expectedSequence")?.unwrap_or(0), ..Default::default() };
                if let Some(p) = c.get("producer").and_then(|p| p.as_str()) {
                    opts.producer = Some((p.to_string(), num(c, "producerSequence")?));
                }
                let ack = self.client()?.publish_batch(text(c, "stream")?, &payloads, &opts)?;
                Ok(vec![
                    ("firstSequence", Json::num(ack.first_sequence)),
                    ("count", Json::num(ack.count)),
                    ("duplicate", Json::Bool(ack.duplicate)),
                ])
            }
            "subscribe" | "consume" => {
                let name = text(c, "sub")?.to_string();
                let mut o = if cmd == "consume" {
                    let mut o = SubscribeOptions::consumer(text(c, "consumer")?, start(c)?);
                    o.ack_mode = match c.get("ackMode").and_then(|m| m.as_str()).unwrap_or("explicit") {
                        "explicit" => AckMode::Explicit,
                        "auto" => AckMode::OnDelivery,
                        m => return Err(bad(format!("ackMode {}", m))),
                    };
                    o.max_lag = opt_num(c, "maxLag")?.unwrap_or(0) as u32;
                    o
                } else {
                    SubscribeOptions::from(start(c)?)
                };
                if let Some(w) = opt_num(c, "credits")? {
                    o.credits = Some(w.max(2) as u32);
                }
                if let Some(old) = self.subs.remove(&name) {
                    let _ = old.close();
                }
                let s = self.client()?.subscribe(text(c, "stream")?, o)?;
                let start = s.start_sequence();
                self.subs.insert(name, s);
                Ok(vec![("startSequence", Json::num(start))])
            }
            "take" => {
                let s = self.subs.get(text(c, "sub")?).ok_or_else(|| bad("no such subscription"))?;
                let count = num(c, "count")?;
                let deadline = Instant::now() + Duration::from_millis(opt_num(c, "timeoutMs")?.unwrap_or(10_000));
                let mut got = Vec::new();
                while (got.len() as u64) < count {
                    match s.recv_deadline(deadline) {
                        Ok(m) => got.push(m),
                        Err(e) => {
                            extra.push(("messages", messages(&got)));
                            return Err(e);
                        }
                    }
                }
                Ok(vec![("messages", messages(&got))])
            }
            "ack" => {
                let s = self.subs.get(text(c, "sub")?).ok_or_else(|| bad("no such subscription"))?;
                s.ack(num(c, "sequence")?)?;
                Ok(vec![])
            }
            "unsubscribe" => {
                let s = self.subs.remove(text(c, "sub")?).ok_or_else(|| bad("no such subscription"))?;
                s.close()?;
                Ok(vec![])
            }
            "fetch" => {
                let r = self.client()?.fetch(text(c, "stream")?, num(c, "from")?, num(c, "max")?.min(i32::MAX as u64) as u32)?;
                Ok(vec![("lastSequence", Json::num(r.last_sequence)), ("messages", messages(&r.messages))])
            }
            "respond" => {
                let subject = text(c, "subject")?;
                let echo = c.get("echo").and_then(|e| e.as_bool()) == Some(true);
                let reply = if echo { Vec::new() } else { hex(c, "reply")? };
                let r = self.client()?.respond(subject, move |req| Ok(if echo { req.payload.clone() } else { reply.clone() }))?;
                self.responders.push(r);
                Ok(vec![])
            }
            "request" => {
                let t = Duration::from_millis(opt_num(c, "timeoutMs")?.unwrap_or(5000).max(1));
                let p = self.client()?.request(text(c, "subject")?, &hex(c, "payload")?, t)?;
                Ok(vec![("payload", Json::str(to_hex(&p)))])
            }
            "consumers" => {
                let r = self.client()?.consumers(text(c, "stream")?)?;
                let list = r
                    .consumers
                    .iter()
                    .map(|x| {
                        Json::obj(vec![
                            ("name", Json::str(&x.name)),
                            ("ackedSequence", Json::num(x.acked_sequence)),
                            ("maxLag", Json::num(x.max_lag)),
                            ("connected", Json::Bool(x.connected)),
                        ])
                    })
                    .collect();
                Ok(vec![
                    ("lastSequence", Json::num(r.last_sequence)),
                    ("heldPublishes", Json::num(r.held_publishes)),
                    ("consumers", Json::Arr(list)),
                ])
            }
            "close" => {
                self.close();
                Ok(vec![])
            }
            other => Err(bad(format!("unknown command {}", other))),
        }
    }
}

fn main() {
    let mut d = Driver { client: None, subs: HashMap::new(), responders: Vec::new() };
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let line = match line {
            Ok(l) => l,
            Err(_) => break,
        };
        if line.trim().is_empty() {
            continue;
        }
        let mut extra = Vec::new();
        let result = match json::parse(&line) {
            Ok(c) => d.run(&c, &mut extra),
            Err(e) => Err(bad(format!("bad JSON: {}", e))),
        };
        let answer = match result {
            Ok(fields) => {
                let mut o = vec![("ok", Json::Bool(true))];
                o.extend(fields);
                Json::obj(o)
            }
            Err(e) => {
                eprintln!("wirebus-conformance: {} -> {}", line, e);
                let mut o = vec![("ok", Json::Bool(false)), ("error", error_json(&e))];
                o.extend(extra);
                Json::obj(o)
            }
        };
        let mut out = stdout.lock();
        let _ = writeln!(out, "{}", answer.to_text());
        let _ = out.flush();
    }
    d.close();
}
