//! Issue 3: an `if`/`else` statement as the last statement of a `for` body
//! (no trailing semicolon), checked like the rest of `control_flow.rs`.
//!
//! Kept apart from `control_flow.rs` because, at the time of writing, the
//! macro rejects this construct at compile time, which would stop the whole
//! of `control_flow.rs` from compiling.

// The index loops are the constructs under test.
#![allow(clippy::needless_range_loop)]

mod common;

use common::*;
use neuron::differentiate;

#[differentiate]
fn leaky_sum(x: [f64; 5], w: [f64; 5]) -> f64 {
    let mut s = 0.0;
    for i in 0..5 {
        let z = x[i] * w[i];
        if z > 0.0 {
            s += z;
        } else {
            s += 0.1 * z;
        }
    }
    s
}

#[test]
fn branch_inside_a_loop() {
    // Each product x_i w_i at least 0.05 away from the kink at 0.
    check_scalar(
        "leaky_sum",
        509,
        |r| loop {
            let p = uniform_vec(r, 10, -2.0, 2.0);
            if (0..5).all(|i| (p[i] * p[5 + i]).abs() > 0.05) {
                break p;
            }
        },
        |p| leaky_sum(arr(p), arr(&p[5..])),
        |p, d| {
            let (v, (gx, gw)) = leaky_sum_value_and_backward(arr(p), arr(&p[5..]), d);
            (v, [gx, gw].concat())
        },
        |p, d| {
            let (gx, gw) = leaky_sum_backward(arr(p), arr(&p[5..]), d);
            [gx, gw].concat()
        },
        |q| {
            (0..5).fold(c(0.0), |s, i| {
                let z = q[i] * q[5 + i];
                if z.re > 0.0 {
                    s + z
                } else {
                    s + z * 0.1
                }
            })
        },
    );
}
