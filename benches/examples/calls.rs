//! One backward variant of the dense layer or the network, called N times:
//! a driver for counting instructions, where wall time is too noisy.
//!
//! `valgrind --tool=callgrind target/release/examples/calls dense generated 210`,
//! minus the same with 10 calls, over 200: the instructions of one call,
//! allocation included. The network also has `generated_sized` and
//! `hand_ieee_sized`, its sizes read off its arguments.

use neuron_bench::cases::{dense, network};
use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: calls dense|network hand|hand_ieee|generated|generated_skip N \
                 (network also generated_sized|hand_ieee_sized)";
    let [case, variant, calls] = &args[..] else {
        panic!("{usage}");
    };
    let calls: usize = calls.parse().unwrap();
    if case == "dense" {
        let i = dense::inputs();
        let f = match variant.as_str() {
            "hand" => dense::hand,
            "hand_ieee" => dense::hand_ieee,
            "generated" => dense::generated,
            "generated_skip" => dense::generated_skip,
            _ => panic!("{usage}"),
        };
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
        let f = match variant.as_str() {
            "hand" => network::hand_on,
            "hand_ieee" => network::hand_ieee_on,
            "generated" => network::generated,
            "generated_skip" => network::generated_skip,
            "generated_sized" => network::generated_sized,
            "hand_ieee_sized" => network::hand_ieee_sized,
            _ => panic!("{usage}"),
        };
        for _ in 0..calls {
            black_box(f(black_box(&i), 1.0));
        }
    }
}
