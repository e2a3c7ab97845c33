//! Functions long enough that their sweeps are cut into chunks, each compiled
//! as a function of its own (for build time; see `neuron-codegen/src/chunk.rs`).
//! The chunks must pass every value, accumulator, tape and pullback a later
//! chunk reads: checked here against num-dual and central differences.

mod common;

use common::*;
use neuron::differentiate;
use num_dual::{Dual64, DualNum};

const K: f64 = 3.0;

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

/// A caller passing `w` as data: each chunk of `long_rows`'s callers' sweep
/// is a function of its own, which takes the mask of active arguments as a
/// parameter and leaves out the additions into `d_w`.
#[differentiate]
fn long_rows_data(x: f64, #[no_grad] w: &[f64]) -> f64 {
    long_rows(x, w) * 2.0
}

#[test]
fn data_into_a_function_cut_into_chunks() {
    let w = uniform_vec(&mut rng(806), 4, -1.0, 1.0);
    let wd: Vec<Dual64> = w.iter().map(|&v| c(v)).collect();
    check_scalar(
        "long_rows_data",
        807,
        |r| uniform_vec(r, 1, -1.0, 1.0),
        |p| long_rows_data(p[0], &w),
        |p, d| {
            let (v, gx) = long_rows_data_value_and_backward(p[0], &w, d);
            (v, vec![gx])
        },
        |p, d| vec![long_rows_data_backward(p[0], &w, d)],
        |p| long_rows_dual(p[0], &wd) * 2.0,
    );
    let (_, pullback) = __neuron_call_long_rows(neuron::__private::Active::<0b01>, 0.3, &w);
    let (dx, dw) = __neuron_reverse_long_rows(pullback, (), &w, 1.0);
    assert_eq!(dw, vec![0.0; 4]);
    assert_eq!(dx, long_rows_backward(0.3, &w, 1.0).0);
}

// 4 statements × 2^7 = 512 in a row, with only scalars whose types the
// macro knows: each chunk is a function of its own, which must be passed
// the `bool` and `usize` parameters and the `let mut` scalar, and reads a
// module-level constant.
repeated!([x x x x x x x] [
    let u = (v * a + u * 0.5).tanh();
    let v = v * 0.9 + u.sin() * b * (flag as u8 as f64);
    t = t * 0.5 + u * K * 0.01;
    let v = v + t * 0.001 / (n as f64);
]
    #[differentiate]
    fn long_typed(x: f64, a: f64, b: f64, flag: bool, n: usize) -> f64 {
        let u = x;
        let v = x * 0.5;
        let mut t = 0.0;
    } {
        let m = n * 2;
        u + v + t * (m as f64)
    }
);

repeated!([x x x x x x x] [
    let u = (v * a + u * 0.5).tanh();
    let v = v * 0.9 + u.sin() * b * (flag as u8 as f64);
    t = t * 0.5 + u * K * 0.01;
    let v = v + t * 0.001 / (n as f64);
]
    fn long_typed_dual(x: Dual64, a: Dual64, b: Dual64, flag: bool, n: usize) -> Dual64 {
        let u = x;
        let v = x * 0.5;
        let mut t = c(0.0);
    } {
        let m = n * 2;
        u + v + t * (m as f64)
    }
);

#[test]
fn a_512_statement_function_of_typed_scalars_cut_into_functions() {
    for flag in [true, false] {
        check_scalar(
            "long_typed",
            803,
            |r| uniform_vec(r, 3, -1.0, 1.0),
            |p| long_typed(p[0], p[1], p[2], flag, 2),
            |p, d| {
                let (v, (gx, ga, gb)) = long_typed_value_and_backward(p[0], p[1], p[2], flag, 2, d);
                (v, vec![gx, ga, gb])
            },
            |p, d| {
                let (gx, ga, gb) = long_typed_backward(p[0], p[1], p[2], flag, 2, d);
                vec![gx, ga, gb]
            },
            |p| long_typed_dual(p[0], p[1], p[2], flag, 2),
        );
    }
}

// 4 statements × 2^7 = 512 in a row, reading a slice and an array: the
// reverse sweep's chunks are functions that take the gradients (a `Vec` and
// an array) by value and hand them on.
repeated!([x x x x x x x] [
    let u = (v * w[0] + u * x[1]).tanh();
    let v = v * 0.9 + u.sin() * x[2] - w[3] * 0.01;
    let u = u * w[1] + x[0] * 0.01;
    let v = v / (1.0 + v * v) + w[2] * u;
]
    #[differentiate]
    fn long_arrays(x: &[f64], w: [f64; 4]) -> f64 {
        let u = x[0];
        let v = w[0] * 0.5;
    } {
        u + v
    }
);

repeated!([x x x x x x x] [
    let u = (v * w[0] + u * x[1]).tanh();
    let v = v * 0.9 + u.sin() * x[2] - w[3] * 0.01;
    let u = u * w[1] + x[0] * 0.01;
    let v = v / (v * v + 1.0) + w[2] * u;
]
    fn long_arrays_dual(x: &[Dual64], w: [Dual64; 4]) -> Dual64 {
        let u = x[0];
        let v = w[0] * 0.5;
    } {
        u + v
    }
);

#[test]
fn a_512_statement_function_of_arrays_cut_into_functions() {
    let w = |p: &[f64]| [p[3], p[4], p[5], p[6]];
    check_scalar(
        "long_arrays",
        804,
        |r| uniform_vec(r, 7, -1.0, 1.0),
        |p| long_arrays(&p[..3], w(p)),
        |p, d| {
            let (v, (gx, gw)) = long_arrays_value_and_backward(&p[..3], w(p), d);
            (v, [gx, gw.to_vec()].concat())
        },
        |p, d| {
            let (gx, gw) = long_arrays_backward(&p[..3], w(p), d);
            [gx, gw.to_vec()].concat()
        },
        |p| long_arrays_dual(&p[..3], [p[3], p[4], p[5], p[6]]),
    );
}

// 4 statements × 2^7 = 512 in a row with a branch in each: the reverse
// sweep reads each arm's values from tapes (one-element arrays and a
// counter), which the chunk functions take by value and hand on.
repeated!([x x x x x x x] [
    let u = (v * a + u * 0.5).tanh();
    let v = if u > 0.0 { v * 0.9 + u.sin() * b } else { v * 0.8 - u };
    t = t * 0.5 + u * 0.03;
    let v = v + t * 0.001;
]
    #[differentiate]
    fn long_branches(x: f64, a: f64, b: f64) -> f64 {
        let u = x;
        let v = x * 0.5;
        let mut t = 0.0;
    } {
        u + v + t
    }
);

repeated!([x x x x x x x] [
    let u = (v * a + u * 0.5).tanh();
    let v = if u.re > 0.0 { v * 0.9 + u.sin() * b } else { v * 0.8 - u };
    t = t * 0.5 + u * 0.03;
    let v = v + t * 0.001;
]
    fn long_branches_dual(x: Dual64, a: Dual64, b: Dual64) -> Dual64 {
        let u = x;
        let v = x * 0.5;
        let mut t = c(0.0);
    } {
        u + v + t
    }
);

#[test]
fn a_512_statement_function_with_branches_cut_into_functions() {
    check_scalar(
        "long_branches",
        805,
        |r| uniform_vec(r, 3, -1.0, 1.0),
        |p| long_branches(p[0], p[1], p[2]),
        |p, d| {
            let (v, (gx, ga, gb)) = long_branches_value_and_backward(p[0], p[1], p[2], d);
            (v, vec![gx, ga, gb])
        },
        |p, d| {
            let (gx, ga, gb) = long_branches_backward(p[0], p[1], p[2], d);
            vec![gx, ga, gb]
        },
        |p| long_branches_dual(p[0], p[1], p[2]),
    );
}
