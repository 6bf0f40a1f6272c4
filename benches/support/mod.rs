//! Timing and reporting shared by the benches.

use std::time::{Duration, Instant};

/// Runs `f(i)` for a warm-up, then times `n` calls.
#[allow(dead_code)]
pub fn time(n: usize, mut f: impl FnMut(usize)) -> Duration {
    for i in 0..n.min(200) {
        f(i);
    }
    let start = Instant::now();
    for i in 0..n {
        f(i);
    }
    start.elapsed()
}

/// Prints one table of `(case, rapyer time, raw redis-rs time)` with the ratio.
pub fn report(title: &str, rows: &[(&str, Duration, Duration)], n: usize) {
    println!("\n{title}, {n} ops each");
    println!(
        "{:<28} {:>12} {:>12} {:>8}",
        "case", "rapyer µs/op", "raw µs/op", "ratio"
    );
    for (name, orm, raw) in rows {
        let per = |d: &Duration| d.as_secs_f64() * 1e6 / n as f64;
        println!(
            "{:<28} {:>12.1} {:>12.1} {:>8.2}",
            name,
            per(orm),
            per(raw),
            orm.as_secs_f64() / raw.as_secs_f64()
        );
    }
}

/// The operation count: `BENCH_N`, default 3000.
#[allow(dead_code)]
pub fn n() -> usize {
    std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}
