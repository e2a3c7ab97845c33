//! One backward variant of the dense layer or the network, called N times:
//! a driver for counting instructions, where wall time is too noisy.
//!
//! `valgrind --tool=callgrind target/release/examples/calls dense generated 210`,
//! minus the same with 10 calls, over 200: the instructions of one call,
//! allocation included.

use neuron_bench::cases::{dense, network};
use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [case, variant, calls] = &args[..] else {
        panic!("usage: calls dense|network hand|hand_ieee|generated|generated_skip N");
    };
    let calls: usize = calls.parse().unwrap();
    let v = ["hand", "hand_ieee", "generated", "generated_skip"]
        .iter()
        .position(|n| n == variant)
        .expect("a variant");
    if case == "dense" {
        let i = dense::inputs();
        let f = [
            dense::hand,
            dense::hand_ieee,
            dense::generated,
            dense::generated_skip,
        ][v];
        for _ in 0..calls {
            black_box(f(
                black_box(&i.x),
                black_box(&i.w),
                black_box(&i.b),
                black_box(i.dy),
            ));
        }
    } else {
        let i = network::inputs();
        let f = [
            network::hand_on,
            network::hand_ieee_on,
            network::generated,
            network::generated_skip,
        ][v];
        for _ in 0..calls {
            black_box(f(black_box(&i), 1.0));
        }
    }
}
