//! A consensus node: publishes committed blocks to stream `blocks`, strictly in index order,
//! each with expected sequence = its height, and asks the executor for its state by request.
//!
//!     ./wirebus serve                                   # in the repository root
//!     cargo run --example consensus_node -- --addr unix://$PWD/../../wirebus.sock --blocks 1000
//!
//! * Block h goes to sequence h. After a restart the node resumes after the stream's last
//!   sequence, so nothing is skipped or written twice.
//! * A bounded pipeline (`--pipeline`, default 8) of publishes awaits each ack in order. When
//!   the executor (a durable consumer with maxLag) lags, the broker holds the publishes, their
//!   acks come late, the pipeline fills and the node blocks: it is paced by the executor.
//! * A lost connection (outcome unknown), a held publish refused with TIMEOUT, or a
//!   SEQUENCE_MISMATCH: the node drains the pipeline, reads the stream's last sequence and goes
//!   on from there (a block already appended is never published again).
//! * Every `--query-every` blocks it asks `state.epoch`, `state.committee`, `state.validators`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};
use wirebus::{Client, ClientOptions, Error, PendingAck, PublishOptions};

struct Args {
    addrs: Vec<String>,
    blocks: u64,
    stream: String,
    pipeline: usize,
    query_every: u64,
}

fn args() -> Args {
    let mut a = Args {
        addrs: Vec::new(),
        blocks: 100,
        stream: "blocks".into(),
        pipeline: 8,
        query_every: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().unwrap_or_else(|| usage(&format!("{} needs a value", k)));
        match k.as_str() {
            "--addr" => a.addrs.extend(v().split(',').map(str::to_string)),
            "--blocks" => a.blocks = v().parse().unwrap_or_else(|_| usage("--blocks N")),
            "--stream" => a.stream = v(),
            "--pipeline" => a.pipeline = v().parse::<usize>().unwrap_or_else(|_| usage("--pipeline N")).max(1),
            "--query-every" => a.query_every = v().parse().unwrap_or_else(|_| usage("--query-every N")),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {}", other)),
        }
    }
    if a.addrs.is_empty() {
        a.addrs.push(std::env::var("WIREBUS_ADDR").unwrap_or_else(|_| "tcp://127.0.0.1:7440".into()));
    }
    if a.query_every == 0 {
        a.query_every = (a.blocks / 4).max(1);
    }
    a
}

fn usage(why: &str) -> ! {
    if !why.is_empty() {
        eprintln!("consensus_node: {}", why);
    }
    eprintln!("usage: consensus_node [--addr unix:///path|tcp://host:port]... [--blocks N] [--stream blocks] [--pipeline 8] [--query-every N]");
    std::process::exit(2);
}

/// The block at `height`: in a real node the committed block's bytes.
fn block(height: u64) -> Vec<u8> {
    let parent = height.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 16;
    format!("{{\"height\":{},\"parent\":\"{:012x}\",\"txs\":{}}}", height, parent, height % 17).into_bytes()
}

/// The stream's last sequence (0 for an empty or new stream): a FETCH past the end is empty
/// but says where the stream is.
fn last_sequence(c: &Client, stream: &str) -> Result<u64, Error> {
    Ok(c.fetch(stream, i64::MAX as u64, 1)?.last_sequence)
}

fn query(c: &Client, subject: &str) {
    match c.request(subject, b"", Duration::from_secs(2)) {
        Ok(r) => println!("{} = {}", subject, String::from_utf8_lossy(&r)),
        Err(e) => println!("{} unavailable: {}", subject, e),
    }
}

fn main() {
    let a = args();
    let refs: Vec<&str> = a.addrs.iter().map(|s| s.as_str()).collect();
    // longer than the broker's publish wait (5 s): a held publish is answered by the broker
    let opts = ClientOptions::new(&refs).name("consensus-node").request_timeout(Duration::from_secs(30));
    let c = Client::connect(opts).unwrap_or_else(|e| {
        eprintln!("consensus_node: {}", e);
        std::process::exit(1)
    });
    let start = Instant::now();
    let mut next = last_sequence(&c, &a.stream).expect("read the stream's last sequence") + 1;
    let first = next;
    println!("resuming at height {} (stream '{}' is at {})", next, a.stream, next - 1);
    let mut pipeline: VecDeque<(u64, PendingAck)> = VecDeque::new();
    let mut resyncs = 0;
    let mut published = 0u64;
    let mut acked_to = next - 1;
    while acked_to < a.blocks {
        // keep the pipeline full, in height order
        let mut failed = None;
        while next <= a.blocks && pipeline.len() < a.pipeline {
            match c.publish_async(&a.stream, &block(next), &PublishOptions::expected(next)) {
                Ok(p) => {
                    pipeline.push_back((next, p));
                    next += 1;
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        // await the oldest ack (blocks here while the broker holds our publishes)
        if failed.is_none() {
            if let Some((h, p)) = pipeline.pop_front() {
                match p.wait() {
                    Ok(ack) => {
                        assert_eq!(ack.first_sequence, h, "block {} landed at {}", h, ack.first_sequence);
                        acked_to = h;
                        published += 1;
                        if h % a.query_every == 0 {
                            query(&c, "state.epoch");
                        }
                    }
                    // an earlier attempt of this block was appended
                    Err(Error::SequenceMismatch { last_sequence: Some(l), .. }) if l >= h => acked_to = h,
                    Err(e) => failed = Some(e),
                }
            }
        }
        if let Some(e) = failed {
            // outcome unknown or refused: finish what is in flight, then continue after
            // whatever the stream really holds
            eprintln!("consensus_node: {} -> resynchronising", e);
            for (_, p) in pipeline.drain(..) {
                let _ = p.wait();
            }
            resyncs += 1;
            let deadline = Instant::now() + Duration::from_secs(60);
            let last = loop {
                match last_sequence(&c, &a.stream) {
                    Ok(l) => break l,
                    Err(e) if Instant::now() < deadline => {
                        eprintln!("consensus_node: {} (retrying)", e);
                        let _ = c.wait_connected(Duration::from_secs(5));
                    }
                    Err(e) => {
                        eprintln!("consensus_node: giving up: {}", e);
                        std::process::exit(1);
                    }
                }
            };
            next = last + 1;
            acked_to = last;
        }
    }
    query(&c, "state.epoch");
    query(&c, "state.committee");
    query(&c, "state.validators");
    let el = start.elapsed();
    println!(
        "committed heights {}..={} ({} published now, {} resyncs) in {:.2} s; stream '{}' is at {}",
        first,
        a.blocks,
        published,
        resyncs,
        el.as_secs_f64(),
        a.stream,
        last_sequence(&c, &a.stream).unwrap_or(0)
    );
}
