//! Issue 3: an early `return` from inside a `for` loop, checked like the
//! rest of `control_flow.rs`.
//!
//! Kept apart from `control_flow.rs` because, at the time of writing, the
//! macro rejects this construct at compile time, which would stop the whole
//! of `control_flow.rs` from compiling.

// The index loops are the constructs under test.
#![allow(clippy::needless_range_loop)]

mod common;

use common::*;
use neuron::differentiate;
use num_dual::DualNum;

#[differentiate]
fn first_big(x: [f64; 5], t: f64) -> f64 {
    let mut acc = 0.0;
    for i in 0..5 {
        acc += x[i] * x[i];
        if acc > t {
            return acc.sqrt() * x[i];
        }
    }
    acc
}

#[test]
fn early_return_from_inside_a_loop() {
    // Every partial sum of squares at least 0.05 away from the threshold t.
    check_scalar(
        "first_big",
        511,
        |r| loop {
            let p = [uniform_vec(r, 5, -1.5, 1.5), vec![uniform(r, 0.3, 6.0)]].concat();
            let mut acc = 0.0;
            let ok = (0..5).all(|i| {
                acc += p[i] * p[i];
                (acc - p[5]).abs() > 0.05
            });
            if ok {
                break p;
            }
        },
        |p| first_big(arr(p), p[5]),
        |p, d| {
            let (v, (gx, gt)) = first_big_value_and_backward(arr(p), p[5], d);
            (v, [&gx[..], &[gt]].concat())
        },
        |p, d| {
            let (gx, gt) = first_big_backward(arr(p), p[5], d);
            [&gx[..], &[gt]].concat()
        },
        |q| {
            let mut acc = c(0.0);
            for i in 0..5 {
                acc += q[i] * q[i];
                if acc.re > q[5].re {
                    return acc.sqrt() * q[i];
                }
            }
            acc
        },
    );
}
