//! Runs examples/consensus_node against a live broker with an executor that gates it (durable
//! consumer, maxLag) and answers state.* requests; then restarts it to extend the chain.

mod common;

use common::{Broker, Proxy};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;
use wirebus::*;

fn example(name: &str) -> std::path::PathBuf {
    // target/<profile>/deps/<this test> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("examples").join(name);
    if !path.exists() {
        // `cargo test` builds examples; `cargo test --test <this>` does not
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "--offline", "--example", name])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(st.success(), "cannot build example {}", name);
    }
    path
}

fn run_node(addr: &str, blocks: u64) -> String {
    let out = Command::new(example("consensus_node"))
        .args(["--addr", addr, "--blocks", &blocks.to_string(), "--pipeline", "4", "--query-every", "25"])
        .output()
        .expect("consensus_node runs (built by cargo test)");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "consensus_node failed: {}\n{}", stdout, String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn consensus_node_publishes_in_order_paced_by_the_executor_and_resumes() {
    let b = Broker::start();
    let proxy = Proxy::new(b.port);
    let exec_client = Arc::new(Client::connect(ClientOptions::new(&[&b.address]).name("executor")).unwrap());
    let executed = Arc::new(AtomicU64::new(0));
    let e2 = executed.clone();
    let _epoch = exec_client.respond("state.epoch", move |_| Ok(format!("{}", e2.load(Ordering::SeqCst) / 50).into_bytes())).unwrap();
    let _committee = exec_client.respond("state.committee", |_| Ok(b"[\"v1\",\"v2\",\"v3\"]".to_vec())).unwrap();
    let _validators = exec_client.respond("state.validators", |_| Ok(b"4".to_vec())).unwrap();
    let sub = exec_client.subscribe("blocks", SubscribeOptions::consumer("executor", Start::Earliest).max_lag(5).credits(16)).unwrap();
    let (c2, e3) = (exec_client.clone(), executed.clone());
    let executor = thread::spawn(move || {
        let mut max_lag_seen = 0;
        for h in 1..=150u64 {
            let m = sub.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|e| panic!("block {}: {}", h, e));
            assert_eq!(m.sequence, h);
            let text = String::from_utf8(m.payload).unwrap();
            assert!(text.starts_with(&format!("{{\"height\":{},", h)), "{}", text);
            e3.store(h, Ordering::SeqCst);
            // the stream is never more than maxLag ahead of what was acknowledged
            let info = c2.consumers("blocks").unwrap();
            let acked = info.consumers.iter().find(|c| c.name == "executor").unwrap().acked_sequence;
            max_lag_seen = max_lag_seen.max(info.last_sequence - acked);
            assert!(info.last_sequence - acked <= 5, "lag {}", info.last_sequence - acked);
            sub.ack(h).unwrap();
        }
        max_lag_seen
    });
    let out = run_node(&proxy.address, 100);
    assert!(out.contains("resuming at height 1 "), "{}", out);
    assert!(out.contains("state.epoch = "), "{}", out);
    assert!(out.contains("state.committee = [\"v1\",\"v2\",\"v3\"]"), "{}", out);
    // restarted: it goes on after the stream's last sequence
    let out = run_node(&proxy.address, 150);
    assert!(out.contains("resuming at height 101 "), "{}", out);
    assert!(out.contains("stream 'blocks' is at 150"), "{}", out);
    let lag = executor.join().unwrap();
    assert!(lag >= 1, "the executor never lagged");
    let page = exec_client.fetch("blocks", 1, 1000).unwrap();
    assert_eq!(page.last_sequence, 150);
    assert_eq!(page.messages.len(), 150);
}

#[test]
fn consensus_node_recovers_when_the_broker_refuses_a_held_publish() {
    // publishes held longer than 200 ms are refused with TIMEOUT (not appended)
    let b = Broker::start_with(&["--publish-wait", "200ms"]);
    let exec_client = Arc::new(Client::connect(ClientOptions::new(&[&b.address]).name("executor")).unwrap());
    let sub = exec_client.subscribe("blocks", SubscribeOptions::consumer("executor", Start::Earliest).max_lag(3).credits(16)).unwrap();
    let c2 = exec_client.clone();
    let executor = thread::spawn(move || {
        for h in 1..=40u64 {
            let m = sub.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|e| panic!("block {}: {}", h, e));
            assert_eq!(m.sequence, h, "blocks arrive in height order, once");
            assert!(String::from_utf8(m.payload).unwrap().starts_with(&format!("{{\"height\":{},", h)));
            if h == 10 {
                // stall until the broker has refused a held publish of the node
                let deadline = std::time::Instant::now() + Duration::from_secs(30);
                while c2.consumers("blocks").unwrap().rejected_publishes == 0 {
                    assert!(std::time::Instant::now() < deadline, "no publish was refused");
                }
            }
            sub.ack(h).unwrap();
        }
    });
    let out = run_node(&b.address, 40);
    executor.join().unwrap();
    assert!(out.contains("stream 'blocks' is at 40"), "{}", out);
    assert!(!out.contains(" 0 resyncs"), "the refusal was not noticed: {}", out);
    let page = exec_client.fetch("blocks", 1, 100).unwrap();
    assert_eq!(page.messages.len(), 40);
}
