//! Functions long enough that their sweeps are cut into chunks, each compiled
//! as a function of its own (for build time; see `neuron-codegen/src/chunk.rs`).
//! The chunks must pass every value, accumulator, tape and pullback a later
//! chunk reads: checked here against num-dual and central differences.

mod common;

use common::*;
use neuron::differentiate;
use num_dual::{Dual64, DualNum};

/// Writes a function whose body is `head`, then `step` repeated 2^k times
/// (one `x` per doubling), then `tail`: long bodies without long sources.
macro_rules! repeated {
    ([x $($n:tt)*] [$($step:tt)*] $($f:tt)*) => {
        repeated!([$($n)*] [$($step)* $($step)*] $($f)*);
    };
    ([] [$($step:tt)*] $(#[$($m:tt)*])* fn $name:ident($($params:tt)*) -> $out:ty { $($head:tt)* } { $($tail:tt)* }) => {
        $(#[$($m)*])* fn $name($($params)*) -> $out { $($head)* $($step)* $($tail)* }
    };
}

#[differentiate]
fn small(p: f64, q: f64) -> f64 {
    (p * q).sin()
}

fn small_dual(p: Dual64, q: Dual64) -> Dual64 {
    (p * q).sin()
}

// 5 statements × 2^7 = 640 in a row, with shadowed names, an array written
// in place, a call and a branch in every repetition.
repeated!([x x x x x x x] [
    let u = (v * a + u * 0.5).tanh();
    let v = v * 0.9 + u.sin() * b;
    s[0] = s[0] * 0.5 + u * w;
    let w = w * 0.99 + small(u, v) * 0.01 + s[0] * 0.001;
    if u > 0.0 { s[1] += v * 0.01; } else { s[1] -= w * 0.01; }
]
    #[differentiate]
    fn long_chain(x: f64, a: f64, b: f64) -> f64 {
        let u = x;
        let v = x * 0.5;
        let w = x * x;
        let mut s = [0.0; 2];
    } {
        w + v + u + s[0] + s[1]
    }
);

repeated!([x x x x x x x] [
    let u = (v * a + u * 0.5).tanh();
    let v = v * 0.9 + u.sin() * b;
    s[0] = s[0] * 0.5 + u * w;
    let w = w * 0.99 + small_dual(u, v) * 0.01 + s[0] * 0.001;
    if u.re > 0.0 { s[1] += v * 0.01; } else { s[1] -= w * 0.01; }
]
    fn long_chain_dual(x: Dual64, a: Dual64, b: Dual64) -> Dual64 {
        let u = x;
        let v = x * 0.5;
        let w = x * x;
        let mut s = [c(0.0); 2];
    } {
        w + v + u + s[0] + s[1]
    }
);

#[test]
fn a_640_statement_function_cut_into_chunks() {
    check_scalar(
        "long_chain",
        801,
        |r| uniform_vec(r, 3, -1.0, 1.0),
        |p| long_chain(p[0], p[1], p[2]),
        |p, d| {
            let (v, (gx, ga, gb)) = long_chain_value_and_backward(p[0], p[1], p[2], d);
            (v, vec![gx, ga, gb])
        },
        |p, d| {
            let (gx, ga, gb) = long_chain_backward(p[0], p[1], p[2], d);
            vec![gx, ga, gb]
        },
        |p| long_chain_dual(p[0], p[1], p[2]),
    );
}

// 3 statements × 2^8 = 768 in a row, each repetition with a loop whose
// reverse reads `w` and its gradient through row slices taken before it.
// A slice is a borrow: it must land in the same chunk as its loop.
repeated!([x x x x x x x x] [
    let u = (u * 0.9 + a).tanh();
    for j in 0..4 { s += w[j] * u; }
    let a = a * 0.5 + s * 0.001;
]
    // Indexing, not an iterator, is the point: the row slices are for `w[j]`.
    #[allow(clippy::needless_range_loop)]
    #[differentiate]
    fn long_rows(x: f64, w: &[f64]) -> f64 {
        let u = x;
        let a = x * 0.5;
        let mut s = 0.0;
    } {
        s * 0.01 + u + a
    }
);

repeated!([x x x x x x x x] [
    let u = (u * 0.9 + a).tanh();
    for j in 0..4 { s += w[j] * u; }
    let a = a * 0.5 + s * 0.001;
]
    #[allow(clippy::needless_range_loop)]
    fn long_rows_dual(x: Dual64, w: &[Dual64]) -> Dual64 {
        let u = x;
        let a = x * 0.5;
        let mut s = c(0.0);
    } {
        s * 0.01 + u + a
    }
);

#[test]
fn a_768_statement_function_with_row_slices_cut_into_chunks() {
    check_scalar(
        "long_rows",
        802,
        |r| uniform_vec(r, 5, -1.0, 1.0),
        |p| long_rows(p[0], &p[1..]),
        |p, d| {
            let (v, (gx, gw)) = long_rows_value_and_backward(p[0], &p[1..], d);
            (v, [vec![gx], gw].concat())
        },
        |p, d| {
            let (gx, gw) = long_rows_backward(p[0], &p[1..], d);
            [vec![gx], gw].concat()
        },
        |p| long_rows_dual(p[0], &p[1..]),
    );
}
