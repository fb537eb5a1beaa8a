//! Failover between brokers (issue 15 item 5): two real brokers, the first one killed (SIGKILL,
//! no GOAWAY).
//!
//! With the in-memory store two brokers share no streams, so `killed_node_...` shows the
//! connection / publish / responder side of failover (the old subscription ends with
//! StoreChanged instead of resuming on another history). `shared_store_...` shows resume by
//! sequence and the idempotent resend across two addresses: the second broker takes over the
//! first one's disk data directory (a standby on shared storage: same storeId, streams,
//! consumers, producer state). Failover between live nodes sharing streams comes with the
//! Redis store.

mod common;

use common::{free_port, Broker, Proxy};
use std::time::Duration;
use wirebus::*;

const T: Duration = Duration::from_secs(30);

fn fast() -> ReconnectPolicy {
    ReconnectPolicy { initial: Duration::from_millis(5), max: Duration::from_millis(100), max_attempts: u32::MAX }
}

#[test]
fn killed_node_the_client_continues_on_the_next_address() {
    let dead = format!("tcp://127.0.0.1:{}", free_port());
    let mut a = Broker::start();
    let b = Broker::start();
    let c = Client::connect(ClientOptions::new(&[&dead, &a.address, &b.address]).name("failover").reconnect(fast())).unwrap();
    assert_eq!(c.address().unwrap(), a.address, "the first live address");
    let _r = c.respond("fo.echo", |req| Ok([b"echo:".as_slice(), &req.payload].concat())).unwrap();
    let sub = c.subscribe("fo", SubscribeOptions::from(Start::Earliest)).unwrap();
    for i in 1..=3 {
        assert_eq!(c.publish("fo", format!("m{}", i).as_bytes()).unwrap(), i);
    }
    for i in 1..=3 {
        assert_eq!(sub.recv_timeout(T).unwrap().sequence, i);
    }

    a.kill();

    match sub.recv_timeout(T) {
        Err(Error::StoreChanged { .. }) => {}
        other => panic!("subscription after failover to another store: {:?}", other),
    }
    c.wait_connected(T).unwrap();
    assert_eq!(c.publish("fo", b"on b").unwrap(), 1, "B's fresh store");
    assert_eq!(c.address().unwrap(), b.address);
    let other = Client::connect(ClientOptions::new(&[&b.address]).name("other")).unwrap();
    assert_eq!(other.request("fo.echo", b"x", T).unwrap(), b"echo:x", "the responder was registered again on B");
    let s2 = c.subscribe("fo", SubscribeOptions::from(Start::Earliest)).unwrap();
    assert_eq!(s2.recv_timeout(T).unwrap().payload, b"on b");
}

#[test]
fn shared_store_subscriptions_and_idempotent_publishes_resume_on_the_next_address() {
    let dir = std::env::temp_dir().join(format!("wirebus-rust-failover-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.to_str().unwrap().to_string();
    let b_addr = format!("127.0.0.1:{}", free_port());
    let mut a = Broker::start_args(&["serve", "--store", "disk", "--data", &data, "--no-uds", "--tcp", "127.0.0.1:0", "--http", "off"]);
    let proxy = Proxy::new(a.port);
    let c = Client::connect(ClientOptions::new(&[&proxy.address, &format!("tcp://{}", b_addr)]).name("failover").reconnect(fast()))
        .unwrap();
    let sub = c.subscribe("fs", SubscribeOptions::from(Start::Earliest).credits(8)).unwrap();
    let cons = c.subscribe("fs", SubscribeOptions::consumer("exec", Start::Earliest)).unwrap();
    for i in 1..=10u64 {
        let ack = c.publish_with("fs", format!("m{}", i).as_bytes(), &PublishOptions::idempotent("ingest-fo", i)).unwrap();
        assert_eq!(ack.first_sequence, i);
    }
    for i in 1..=10 {
        assert_eq!(sub.recv_timeout(T).unwrap().sequence, i);
        assert_eq!(cons.recv_timeout(T).unwrap().sequence, i);
    }
    cons.ack(10).unwrap();

    // A appends the next batch; its answer never reaches the client
    let direct = Client::connect(ClientOptions::new(&[&a.address]).name("direct").reconnect(ReconnectPolicy::never())).unwrap();
    let watch = direct.subscribe("fs", SubscribeOptions::from(Start::Sequence(11))).unwrap();
    proxy.swallow(true);
    let pending = c
        .publish_batch_async("fs", &[b"m11".to_vec(), b"m12".to_vec()], &PublishOptions { timeout: Some(Duration::from_secs(60)), ..PublishOptions::idempotent("ingest-fo", 11) })
        .unwrap();
    assert_eq!(watch.recv_timeout(T).unwrap().sequence, 11);
    assert_eq!(watch.recv_timeout(T).unwrap().sequence, 12);
    drop(watch);
    direct.close();

    a.kill();
    let _b = Broker::start_args(&["serve", "--store", "disk", "--data", &data, "--no-uds", "--tcp", &b_addr, "--http", "off"]);

    let ack = pending.wait().unwrap();
    assert_eq!((ack.first_sequence, ack.count, ack.duplicate), (11, 2, true), "the batch resent to B is a duplicate");
    assert_eq!(c.address().unwrap(), format!("tcp://{}", b_addr));
    let ack = c.publish_with("fs", b"m13", &PublishOptions::idempotent("ingest-fo", 12)).unwrap();
    assert_eq!((ack.first_sequence, ack.duplicate), (13, false));
    for i in 11..=13u64 {
        let m = sub.recv_timeout(T).unwrap();
        assert_eq!((m.sequence, m.payload), (i, format!("m{}", i).into_bytes()));
        assert_eq!(cons.recv_timeout(T).unwrap().sequence, i);
    }
    let page = c.fetch("fs", 1, 100).unwrap();
    assert_eq!(page.messages.len(), 13);
    let _ = std::fs::remove_dir_all(&dir);
}
