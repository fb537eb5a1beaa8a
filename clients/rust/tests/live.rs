//! Behaviour against a live broker ($WIREBUS_JAR, v1 or v2), started by each test.

mod common;

use common::{Broker, Proxy};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use wirebus::*;

const T: Duration = Duration::from_secs(10);

fn client(addr: &str, name: &str) -> Client {
    Client::connect(ClientOptions::new(&[addr]).name(name)).expect("connects")
}

#[test]
fn publish_subscribe_fetch_and_batches() {
    let b = Broker::start();
    // the first address is dead: the client tries the next one
    let c = Client::connect(ClientOptions::new(&["unix:///tmp/h-rust/none.sock", &b.address]).name("t")).unwrap();
    assert!(c.protocol_version() == 1 || c.protocol_version() == 2);
    assert_eq!(c.address().unwrap(), b.address);
    assert_eq!(c.publish("s", b"one").unwrap(), 1);
    assert_eq!(c.publish_expect("s", b"two", 2).unwrap(), 2);
    let ack = c.publish_batch("s", &[b"a".to_vec(), vec![], b"c".to_vec()], &PublishOptions::default()).unwrap();
    assert_eq!((ack.first_sequence, ack.count, ack.duplicate), (3, 3, false));
    let sub = c.subscribe("s", SubscribeOptions::from(Start::Earliest).credits(4)).unwrap();
    let got: Vec<_> = (0..5).map(|_| sub.recv_timeout(T).unwrap()).collect();
    assert_eq!(got.iter().map(|m| m.sequence).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
    assert_eq!(got[0].payload, b"one");
    assert_eq!(got[3].payload, b"");
    // live messages, beyond the first window of 4 credits
    for i in 0..10 {
        c.publish("s", format!("live {}", i).as_bytes()).unwrap();
    }
    for i in 0..10 {
        let m = sub.recv_timeout(T).unwrap();
        assert_eq!((m.sequence, m.payload), (6 + i, format!("live {}", i).into_bytes()));
    }
    assert_eq!(sub.recv_timeout(Duration::from_millis(50)).unwrap_err().name(), "CLIENT_TIMEOUT");
    sub.close().unwrap();
    let page = c.fetch("s", 2, 3).unwrap();
    assert_eq!(page.last_sequence, 15);
    assert_eq!(page.messages.iter().map(|m| m.sequence).collect::<Vec<_>>(), vec![2, 3, 4]);
    assert!(c.fetch("s", 16, 10).unwrap().messages.is_empty());
    let latest = c.subscribe("s", SubscribeOptions::from(Start::Latest)).unwrap();
    c.publish("s", b"new").unwrap();
    assert_eq!(latest.recv_timeout(T).unwrap().sequence, 16);
    assert!(c.ping().unwrap() < T);
}

#[test]
fn subscription_resumes_across_connection_cuts_without_gap_or_duplicate() {
    let b = Broker::start();
    let proxy = Proxy::new(b.port);
    let reader = client(&proxy.address, "reader");
    let sub = reader.subscribe("cut", SubscribeOptions::from(Start::Earliest).credits(16)).unwrap();
    const N: u64 = 3000;
    let addr = b.address.clone();
    let publisher = thread::spawn(move || {
        let w = client(&addr, "writer");
        let mut pending = Vec::new();
        for i in 1..=N {
            pending.push(w.publish_async("cut", format!("m{}", i).as_bytes(), &PublishOptions::default()).unwrap());
            if pending.len() >= 64 {
                for p in pending.drain(..) {
                    p.wait().unwrap();
                }
            }
        }
        for p in pending {
            p.wait().unwrap();
        }
    });
    let mut next = 1;
    let mut cuts = 0;
    while next <= N {
        let m = sub.recv_timeout(T).unwrap_or_else(|e| panic!("at {}: {}", next, e));
        assert_eq!(m.sequence, next, "gap or duplicate");
        assert_eq!(m.payload, format!("m{}", next).into_bytes());
        if next % 700 == 0 {
            proxy.cut();
            cuts += 1;
        }
        next += 1;
    }
    publisher.join().unwrap();
    assert_eq!(cuts, 4);
    assert!(sub.try_recv().is_none(), "nothing beyond the last message");
}

#[test]
fn idempotent_publish_is_resent_after_reconnect_and_appended_once() {
    let b = Broker::start();
    let proxy = Proxy::new(b.port);
    let direct = client(&b.address, "observer");
    let watch = direct.subscribe("idem", SubscribeOptions::from(Start::Earliest)).unwrap();
    let c = client(&proxy.address, "producer");
    c.publish_with("idem", b"first", &PublishOptions::idempotent("p-1", 1)).unwrap();
    assert_eq!(watch.recv_timeout(T).unwrap().sequence, 1);
    // the broker appends batch 2 but its ack is lost with the connection
    proxy.swallow(true);
    let pending = c.publish_batch_async("idem", &[b"x".to_vec(), b"y".to_vec()], &PublishOptions::idempotent("p-1", 2)).unwrap();
    assert_eq!(watch.recv_timeout(T).unwrap().sequence, 2);
    assert_eq!(watch.recv_timeout(T).unwrap().sequence, 3);
    proxy.cut();
    proxy.swallow(false);
    let ack = pending.wait().unwrap();
    assert_eq!((ack.first_sequence, ack.count, ack.duplicate), (2, 2, true));
    // a plain publish whose connection is lost fails with a connection error (outcome unknown)
    proxy.swallow(true);
    let plain = c.publish_async("idem", b"plain", &PublishOptions::default()).unwrap();
    assert_eq!(watch.recv_timeout(T).unwrap().sequence, 4);
    proxy.cut();
    proxy.swallow(false);
    assert!(plain.wait().unwrap_err().is_connection());
    c.wait_connected(T).unwrap();
    c.publish_with("idem", b"after", &PublishOptions::idempotent("p-1", 3)).unwrap();
    let page = direct.fetch("idem", 1, 100).unwrap();
    assert_eq!(page.messages.iter().map(|m| m.payload.clone()).collect::<Vec<_>>(), vec![b"first".to_vec(), b"x".to_vec(), b"y".to_vec(), b"plain".to_vec(), b"after".to_vec()]);
}

#[test]
fn durable_consumer_with_max_lag_gates_the_producer_and_resumes() {
    let b = Broker::start();
    let proxy = Proxy::new(b.port);
    let producer = client(&b.address, "producer");
    let cons = client(&proxy.address, "executor");
    let sub = cons.subscribe("blocks", SubscribeOptions::consumer("exec", Start::Earliest).max_lag(2).credits(64)).unwrap();
    assert_eq!(producer.publish("blocks", b"b1").unwrap(), 1);
    assert_eq!(producer.publish("blocks", b"b2").unwrap(), 2);
    // lag would be 3 > 2: the broker holds the publish until the consumer acknowledges
    let held = producer.publish_async("blocks", b"b3", &PublishOptions::default()).unwrap();
    // the broker reports the held publish (asked until it does, within a deadline)
    let deadline = Instant::now() + T;
    let info = loop {
        let info = producer.consumers("blocks").unwrap();
        if info.held_publishes == 1 || Instant::now() > deadline {
            break info;
        }
    };
    assert_eq!(info.held_publishes, 1, "{:?}", info);
    assert_eq!(info.last_sequence, 2);
    let e = info.consumers.iter().find(|c| c.name == "exec").unwrap();
    assert_eq!((e.acked_sequence, e.max_lag, e.connected), (0, 2, true));
    assert_eq!(sub.recv_timeout(T).unwrap().sequence, 1);
    assert_eq!(sub.recv_timeout(T).unwrap().sequence, 2);
    sub.ack(1).unwrap();
    assert_eq!(held.wait().unwrap().first_sequence, 3);
    // a cut: the consumer resumes after what it received (3), not at its acked position (1)
    assert_eq!(sub.recv_timeout(T).unwrap().sequence, 3);
    proxy.cut();
    sub.ack(3).unwrap();
    assert_eq!(producer.publish("blocks", b"b4").unwrap(), 4);
    assert_eq!(sub.recv_timeout(T).unwrap().sequence, 4);
    sub.ack(4).unwrap();
    let info = producer.consumers("blocks").unwrap();
    assert_eq!(info.consumers.iter().find(|c| c.name == "exec").unwrap().acked_sequence, 4);
    drop(sub);
    // a new subscription of the consumer starts after its acknowledged position
    producer.publish("blocks", b"b5").unwrap();
    let again = cons.subscribe("blocks", SubscribeOptions::consumer("exec", Start::Earliest).max_lag(2)).unwrap();
    assert_eq!(again.recv_timeout(T).unwrap().sequence, 5);
}

#[test]
fn request_respond_and_responder_failures() {
    let b = Broker::start();
    let proxy = Proxy::new(b.port);
    let responder = client(&proxy.address, "state");
    let _epoch = responder.respond("state.epoch", |r| Ok([b"epoch:".as_slice(), &r.payload].concat())).unwrap();
    let _bad = responder.respond("state.broken", |_| Err("database unavailable".into())).unwrap();
    let requester = client(&b.address, "asker");
    assert_eq!(requester.request("state.epoch", b"7", T).unwrap(), b"epoch:7");
    let e = requester.request("state.broken", b"", T).unwrap_err();
    assert_eq!(e.name(), "RESPONDER_FAILED");
    assert!(e.message().contains("database unavailable"), "{}", e);
    assert_eq!(requester.request("state.none", b"", T).unwrap_err().name(), "NO_RESPONDERS");
    // after a cut the responder registers again
    proxy.cut();
    // a ping answered on the new connection comes after its RESPOND_ON (one written before the
    // cut was noticed fails with a connection error)
    let deadline = Instant::now() + T;
    while let Err(e) = responder.ping() {
        assert!(e.is_connection() && Instant::now() < deadline, "{}", e);
    }
    assert_eq!(requester.request("state.epoch", b"8", T).unwrap(), b"epoch:8");
    // a slow responder: the broker answers TIMEOUT at the requester's deadline (1 s; the client's
    // own deadline is 1 s later, room enough for a broker on a loaded machine)
    let _slow = responder
        .respond("state.slow", |_| {
            thread::park_timeout(Duration::from_millis(3000));
            Ok(vec![])
        })
        .unwrap();
    assert_eq!(requester.request("state.slow", b"", Duration::from_millis(1000)).unwrap_err().name(), "TIMEOUT");
}

#[test]
fn typed_errors_carry_their_fields() {
    let b = Broker::start_with(&["--retention-messages", "5"]);
    let c = client(&b.address, "errs");
    for i in 0..10 {
        c.publish("r", format!("{}", i).as_bytes()).unwrap();
    }
    match c.publish_expect("r", b"x", 5).unwrap_err() {
        Error::SequenceMismatch { last_sequence, .. } => assert_eq!(last_sequence, Some(10)),
        e => panic!("{:?}", e),
    }
    let e = c.fetch("r", 1, 10).unwrap_err();
    assert_eq!((e.name(), e.wire_code()), ("SEQUENCE_NOT_RETAINED", 11));
    let first = match &e {
        Error::SequenceNotRetained { first_retained_sequence, .. } => first_retained_sequence.expect("first retained sequence"),
        e => panic!("{:?}", e),
    };
    assert!((2..=10).contains(&first), "{}", first);
    assert_eq!(c.fetch("r", first, 100).unwrap().messages[0].sequence, first);
    let e = c.subscribe("r", SubscribeOptions::from(Start::Sequence(1))).err().unwrap();
    assert_eq!(e.fields().first_retained_sequence, Some(first));
    c.publish_with("r", b"p", &PublishOptions::idempotent("prod", 5)).unwrap();
    match c.publish_with("r", b"p", &PublishOptions::idempotent("prod", 3)).unwrap_err() {
        Error::ProducerSequence { last_producer_sequence, .. } => {
            if c.protocol_version() >= 2 {
                assert_eq!(last_producer_sequence, Some(5));
            }
        }
        e => panic!("{:?}", e),
    }
    let e = c.publish("bad name!", b"").unwrap_err();
    assert_eq!((e.name(), e.wire_code()), ("INVALID_ARGUMENT", 6));
    assert_eq!(c.publish("", b"").unwrap_err().name(), "CLIENT");
}

#[test]
fn goaway_is_reported_and_calls_fail_visibly_when_the_broker_is_gone() {
    let mut b = Broker::start();
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let opts = ClientOptions::new(&[&b.address])
        .name("leaver")
        .reconnect(ReconnectPolicy { initial: Duration::from_millis(10), max: Duration::from_millis(50), max_attempts: 3 })
        .listener(move |e| {
            let _ = tx.lock().unwrap().send(e);
        });
    let c = Client::connect(opts).unwrap();
    let sub = c.subscribe("g", SubscribeOptions::from(Start::Earliest)).unwrap();
    b.terminate();
    let deadline = Instant::now() + T;
    let mut saw_goaway = false;
    let mut closed = false;
    while Instant::now() < deadline && !closed {
        match rx.recv_timeout(deadline - Instant::now()) {
            Ok(Event::GoAway { code, .. }) => {
                assert_eq!(code, 30);
                saw_goaway = true;
            }
            Ok(Event::Closed) => closed = true,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert!(saw_goaway, "no GOAWAY event");
    assert!(closed, "client did not give up after 3 attempts");
    assert!(c.publish("g", b"x").unwrap_err().is_connection());
    assert!(sub.recv_timeout(T).unwrap_err().is_connection());
}

#[test]
fn batching_publisher_keeps_order_per_stream_and_rejects_when_full() {
    let b = Broker::start();
    let opts = BatchingOptions::new(ClientOptions::new(&[&b.address]).name("batch")).workers(2).queue_capacity(10_000);
    let p = BatchingPublisher::new(opts).unwrap();
    let mut tickets = Vec::new();
    for i in 0..6000u32 {
        let stream = ["s0", "s1", "s2"][(i % 3) as usize];
        if i % 100 == 0 {
            tickets.push((stream, i, p.publish(stream, i.to_be_bytes().to_vec()).unwrap()));
        } else {
            p.send(stream, i.to_be_bytes().to_vec()).unwrap();
        }
    }
    assert!(p.flush(T));
    assert_eq!((p.acked_count(), p.failed_count()), (6000, 0));
    let c = client(&b.address, "check");
    for (k, stream) in ["s0", "s1", "s2"].iter().enumerate() {
        let page = c.fetch(stream, 1, 10_000).unwrap();
        let got: Vec<u32> = page.messages.iter().map(|m| u32::from_be_bytes(m.payload[..4].try_into().unwrap())).collect();
        let want: Vec<u32> = (0..6000u32).filter(|i| (i % 3) as usize == k).collect();
        assert_eq!(got, want, "stream {} in queue order", stream);
    }
    for (stream, i, t) in tickets {
        let seq = t.wait(T).unwrap();
        assert_eq!(seq, (i / 3) as u64 + 1, "{} message {}", stream, i);
    }
    p.close();

    // a gating consumer that never acknowledges holds the worker's batch: the queue fills
    let gate = c.subscribe("held", SubscribeOptions::consumer("slow", Start::Earliest).max_lag(1)).unwrap();
    let opts = BatchingOptions::new(ClientOptions::new(&[&b.address]).name("full"))
        .queue_capacity(4)
        .max_in_flight_batches(1)
        .max_batch_messages(1)
        .when_full(WhenFull::Reject);
    let p = BatchingPublisher::new(opts).unwrap();
    let mut refused = None;
    for i in 0..100u32 {
        if let Err(e) = p.send("held", i.to_be_bytes().to_vec()) {
            refused = Some((i, e));
            break;
        }
    }
    let (i, e) = refused.expect("a full queue refuses");
    assert_eq!(e.name(), "BACKPRESSURE");
    assert!(i <= 4 + 2 + 1, "refused only after {} messages", i);
    assert_eq!(p.rejected_count(), 1);
    // acknowledging lets everything queued through
    let deadline = Instant::now() + T;
    while !p.flush(Duration::ZERO) {
        assert!(Instant::now() < deadline, "queued messages never acknowledged");
        if let Ok(m) = gate.recv_timeout(Duration::from_millis(100)) {
            gate.ack(m.sequence).unwrap();
        }
    }
    assert_eq!(p.failed_count(), 0);
}

#[test]
fn a_broker_with_another_store_ends_subscriptions_with_store_changed() {
    let b1 = Broker::start();
    let port = b1.port;
    let c = Client::connect(
        ClientOptions::new(&[&b1.address])
            .name("store")
            .reconnect(ReconnectPolicy { initial: Duration::from_millis(20), max: Duration::from_millis(200), max_attempts: u32::MAX }),
    )
    .unwrap();
    let producer = IdempotentProducer::new(&c, "p", 1);
    assert_eq!(producer.publish("st", b"1").unwrap().first_sequence, 1);
    let sub = c.subscribe("st", SubscribeOptions::from(Start::Earliest)).unwrap();
    assert_eq!(sub.recv_timeout(T).unwrap().sequence, 1);
    drop(b1); // killed: the in-memory streams are gone
    let b2 = Broker::start_with_tcp(&format!("127.0.0.1:{}", port));
    match sub.recv_timeout(Duration::from_secs(30)).unwrap_err() {
        Error::StoreChanged { .. } => {}
        e => panic!("{:?}", e),
    }
    c.wait_connected(T).unwrap();
    assert_eq!(c.publish("st", b"again").unwrap(), 1, "a new store");
    drop(b2);
}

#[test]
fn in_flight_window_bounds_calls_and_lost_batches_fail_visibly() {
    let b = Broker::start();
    let proxy = Proxy::new(b.port);
    let admin = client(&b.address, "admin");
    // a gating consumer that does not acknowledge: publishes beyond maxLag 1 are held
    let gate = admin.subscribe("w", SubscribeOptions::consumer("g", Start::Earliest).max_lag(1)).unwrap();
    let c = Client::connect(ClientOptions::new(&[&b.address]).name("window").max_in_flight(2)).unwrap();
    let first = c.publish_async("w", b"1", &PublishOptions::default()).unwrap();
    assert_eq!(first.wait().unwrap().first_sequence, 1);
    let held1 = c.publish_async("w", b"2", &PublishOptions::default()).unwrap();
    let held2 = c.publish_async("w", b"3", &PublishOptions::default()).unwrap();
    let opts = PublishOptions { timeout: Some(Duration::from_millis(100)), ..Default::default() };
    let e = c.publish_async("w", b"4", &opts).err().expect("the window is full");
    assert_eq!(e.name(), "CLIENT_TIMEOUT");
    assert!(e.message().contains("2 calls already await answers"), "{}", e);
    // acknowledging lets the held ones through, and frees the window
    for _ in 0..3 {
        let m = gate.recv_timeout(T).unwrap();
        gate.ack(m.sequence).unwrap();
    }
    assert_eq!(held1.wait().unwrap().first_sequence, 2);
    assert_eq!(held2.wait().unwrap().first_sequence, 3);
    assert_eq!(c.publish("w", b"5").unwrap(), 4);
    drop(gate);

    // a batch whose connection is lost before its ack: its tickets fail, fire-and-forget
    // messages are counted and reported; none is resent (at most once)
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let mut opts = BatchingOptions::new(ClientOptions::new(&[&proxy.address]).name("lossy"));
    opts.error_listener = Some(std::sync::Arc::new(move |n, e: &Error| {
        let _ = tx.lock().unwrap().send((n, e.clone()));
    }));
    let p = BatchingPublisher::new(opts).unwrap();
    let watch = admin.subscribe("lossy", SubscribeOptions::from(Start::Earliest)).unwrap();
    proxy.swallow(true);
    let t = p.publish("lossy", b"a".to_vec()).unwrap();
    p.send("lossy", b"b".to_vec()).unwrap();
    assert_eq!(watch.recv_timeout(T).unwrap().payload, b"a");
    assert_eq!(watch.recv_timeout(T).unwrap().payload, b"b");
    proxy.cut();
    proxy.swallow(false);
    assert!(t.wait(T).unwrap_err().is_connection());
    let (n, e) = rx.recv_timeout(T).unwrap();
    assert!(n == 1 && e.is_connection(), "{} {}", n, e);
    assert!(p.flush(T));
    assert_eq!((p.acked_count(), p.failed_count()), (0, 2));
    p.send("lossy", b"c".to_vec()).unwrap();
    assert!(p.flush(T));
    assert_eq!(p.acked_count(), 1);
    assert_eq!(watch.recv_timeout(T).unwrap().sequence, 3, "nothing resent");
}
