//! Benchmarks of the Rust client against a running broker (build with --release):
//!
//!     cargo run --release --example bench -- --addr unix:///tmp/wirebus.sock [--mode all]
//!
//! * latency: one caller publishes and waits for each ack (closed loop): p50/p99/p99.9 of
//!   publish -> ack, and ops/s.
//! * pipelined: the batching publisher, `--producers` threads calling `send` (blocking when the
//!   queue is full), `--workers` connections, batches of up to `--batch`, `--in-flight` batches
//!   per connection: acknowledged messages per second.
//!
//! Each mode: a warm-up, then `--runs` runs of `--duration`, each printed, then the median.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use wirebus::{BatchingOptions, BatchingPublisher, Client, ClientOptions, WhenFull};

struct Args {
    addr: String,
    mode: String,
    size: usize,
    duration: Duration,
    warmup: Duration,
    runs: usize,
    workers: usize,
    producers: usize,
    batch: usize,
    in_flight: usize,
    queue: usize,
}

fn dur(s: &str) -> Duration {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len()));
    let n: f64 = n.parse().expect("a number");
    match unit {
        "" | "s" => Duration::from_secs_f64(n),
        "ms" => Duration::from_secs_f64(n / 1e3),
        "m" => Duration::from_secs_f64(n * 60.0),
        u => panic!("unit {}", u),
    }
}

fn args() -> Args {
    let mut a = Args {
        addr: "unix:///tmp/h-rust/w.sock".into(),
        mode: "all".into(),
        size: 100,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(3),
        runs: 3,
        workers: 1,
        producers: 1,
        batch: 1000,
        in_flight: 8,
        queue: 65_536,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{} needs a value", k));
        match k.as_str() {
            "--addr" => a.addr = v,
            "--mode" => a.mode = v,
            "--size" => a.size = v.parse().unwrap(),
            "--duration" => a.duration = dur(&v),
            "--warmup" => a.warmup = dur(&v),
            "--runs" => a.runs = v.parse().unwrap(),
            "--workers" => a.workers = v.parse().unwrap(),
            "--producers" => a.producers = v.parse().unwrap(),
            "--batch" => a.batch = v.parse().unwrap(),
            "--in-flight" => a.in_flight = v.parse().unwrap(),
            "--queue" => a.queue = v.parse().unwrap(),
            other => panic!("unknown option {}", other),
        }
    }
    a
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)] as f64 / 1000.0
}

fn latency(a: &Args) {
    let c = Client::connect(ClientOptions::new(&[&a.addr]).name("bench-latency")).expect("connect");
    let payload = vec![7u8; a.size];
    let one_run = |d: Duration| -> (Vec<u64>, f64) {
        let mut lat = Vec::with_capacity(1 << 20);
        let start = Instant::now();
        while start.elapsed() < d {
            let t = Instant::now();
            c.publish("bench.latency", &payload).expect("publish");
            lat.push(t.elapsed().as_nanos() as u64);
        }
        let ops = lat.len() as f64 / start.elapsed().as_secs_f64();
        lat.sort_unstable();
        (lat, ops)
    };
    one_run(a.warmup);
    let (mut p50s, mut p99s, mut p999s, mut opss) = (vec![], vec![], vec![], vec![]);
    for r in 1..=a.runs {
        let (lat, ops) = one_run(a.duration);
        println!(
            "latency run {}: publish->ack p50 {:.1} us  p99 {:.1} us  p99.9 {:.1} us  ({:.0} ops/s, {} samples)",
            r,
            pct(&lat, 0.5),
            pct(&lat, 0.99),
            pct(&lat, 0.999),
            ops,
            lat.len()
        );
        p50s.push(pct(&lat, 0.5));
        p99s.push(pct(&lat, 0.99));
        p999s.push(pct(&lat, 0.999));
        opss.push(ops);
    }
    println!(
        "latency median of {}: p50 {:.1} us  p99 {:.1} us  p99.9 {:.1} us  {:.0} ops/s  [{} byte payloads, {}]",
        a.runs,
        median(p50s),
        median(p99s),
        median(p999s),
        median(opss),
        a.size,
        a.addr
    );
}

fn pipelined(a: &Args) {
    let opts = BatchingOptions::new(ClientOptions::new(&[&a.addr]).name("bench-batch"))
        .workers(a.workers)
        .queue_capacity(a.queue)
        .max_batch_messages(a.batch)
        .max_in_flight_batches(a.in_flight)
        .when_full(WhenFull::Block(Duration::from_secs(10)));
    let p = Arc::new(BatchingPublisher::new(opts).expect("connect"));
    let stop = Arc::new(AtomicBool::new(false));
    let mut producers = Vec::new();
    for i in 0..a.producers {
        let (p, stop, size) = (p.clone(), stop.clone(), a.size);
        producers.push(thread::spawn(move || {
            let payload = vec![7u8; size];
            let stream = format!("bench.pipe.{}.{}", std::process::id(), i);
            while !stop.load(Ordering::Relaxed) {
                p.send(&stream, payload.as_slice()).expect("queued");
            }
        }));
    }
    let measure = |d: Duration| -> f64 {
        let (a0, t0) = (p.acked_count(), Instant::now());
        thread::sleep(d); // the measuring interval, not a synchronisation
        (p.acked_count() - a0) as f64 / t0.elapsed().as_secs_f64()
    };
    measure(a.warmup);
    let mut rates = Vec::new();
    for r in 1..=a.runs {
        let rate = measure(a.duration);
        println!("pipelined run {}: {:.0} acked msg/s", r, rate);
        rates.push(rate);
    }
    stop.store(true, Ordering::Relaxed);
    for t in producers {
        t.join().unwrap();
    }
    assert!(p.flush(Duration::from_secs(30)), "publisher did not drain");
    let failed = p.failed_count();
    // cross-check: the broker holds exactly what was acknowledged
    let c = Client::connect(ClientOptions::new(&[&a.addr]).name("bench-check")).expect("connect");
    let mut stored = 0;
    for i in 0..a.producers {
        stored += c.fetch(&format!("bench.pipe.{}.{}", std::process::id(), i), i64::MAX as u64, 1).expect("fetch").last_sequence;
    }
    assert_eq!(stored, p.acked_count(), "the streams' last sequences add up to the acknowledged count");
    println!(
        "pipelined median of {}: {:.0} acked msg/s  [{} byte payloads, {} producer(s), {} worker(s), batch {}, in-flight {}, failed {}, {} stored = acked]",
        a.runs,
        median(rates),
        a.size,
        a.producers,
        a.workers,
        a.batch,
        a.in_flight,
        failed,
        stored
    );
}

fn main() {
    let a = args();
    if a.mode == "latency" || a.mode == "all" {
        latency(&a);
    }
    if a.mode == "pipelined" || a.mode == "all" {
        pipelined(&a);
    }
}
