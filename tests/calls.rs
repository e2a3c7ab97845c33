//! Calls between differentiated functions: each callee's forward sweep
//! returns its pullback, which the caller keeps until its own reverse sweep.
//! Checked here: recursion, deep call graphs where every function calls the
//! one below it several times, arguments that are temporaries or locals
//! borrowed only for the call, and calls inside loops and branches, each
//! against num-dual and central differences.

mod common;

use common::*;
use neuron::differentiate;
use num_dual::{Dual64, DualNum};

/// `x^n` by recursion: the self-call's pullback is boxed (a pullback type
/// cannot contain itself).
#[differentiate]
fn power(x: f64, n: i32) -> f64 {
    if n == 0 {
        1.0
    } else {
        x * power(x, n - 1)
    }
}

/// Recursion over a borrowed slice: the sum of `tanh(x[i] * w)` from `i` on.
#[differentiate]
fn tail_sum(x: &[f64], i: usize, w: f64) -> f64 {
    if i >= x.len() {
        0.0
    } else {
        (x[i] * w).tanh() + tail_sum(x, i + 1, w)
    }
}

fn tail_sum_dual(x: &[Dual64], i: usize, w: Dual64) -> Dual64 {
    if i >= x.len() {
        c(0.0)
    } else {
        (x[i] * w).tanh() + tail_sum_dual(x, i + 1, w)
    }
}

// A call graph ten levels deep in which every function calls the one below
// it twice (1 024 calls of `level0` per `level9`). A pullback that re-ran its
// callee's forward sweep would do that work once per level of nesting.
#[differentiate]
fn level0(x: f64, y: f64) -> f64 {
    (x * y).sin() + 0.5 * x
}
/// `NAME(x, y) = ½·BELOW(x, y) + ¼·cos(BELOW(y, x))`: each level calls the
/// one below it twice.
macro_rules! level {
    ($name:ident calls $below:ident) => {
        #[differentiate]
        fn $name(x: f64, y: f64) -> f64 {
            0.5 * $below(x, y) + 0.25 * $below(y, x).cos()
        }
    };
}

level!(level1 calls level0);
level!(level2 calls level1);
level!(level3 calls level2);
level!(level4 calls level3);
level!(level5 calls level4);
level!(level6 calls level5);
level!(level7 calls level6);
level!(level8 calls level7);
level!(level9 calls level8);

fn level_dual(k: u32, x: Dual64, y: Dual64) -> Dual64 {
    if k == 0 {
        (x * y).sin() + x * 0.5
    } else {
        level_dual(k - 1, x, y) * 0.5 + level_dual(k - 1, y, x).cos() * 0.25
    }
}

/// A weighted sum of a borrowed row.
#[differentiate]
fn dot3(v: &[f64; 3], w: &[f64]) -> f64 {
    v[0] * w[0] + v[1] * w[1] + v[2] * w[2]
}

/// Arguments borrowed only for the call: a temporary array, a local array
/// rewritten on every iteration, and the caller's own slice. The callee's
/// pullback outlives all of them; it must not hold on to them.
#[differentiate]
fn borrowed_for_the_call(a: f64, b: f64, w: &[f64]) -> f64 {
    let mut s = dot3(&[a, b, a * b], w);
    let mut row = [0.0; 3];
    for k in 0..4 {
        row[0] = a * (k as f64);
        row[1] = b.sin();
        row[2] = s;
        if row[2] > 0.0 {
            s += dot3(&row, w).tanh();
        } else {
            s -= 0.5 * dot3(&row, w);
        }
    }
    s
}

fn dot3_dual(v: &[Dual64; 3], w: &[Dual64]) -> Dual64 {
    v[0] * w[0] + v[1] * w[1] + v[2] * w[2]
}

fn borrowed_for_the_call_dual(a: Dual64, b: Dual64, w: &[Dual64]) -> Dual64 {
    let mut s = dot3_dual(&[a, b, a * b], w);
    let mut row = [c(0.0); 3];
    for k in 0..4 {
        row[0] = a * (k as f64);
        row[1] = b.sin();
        row[2] = s;
        if row[2].re > 0.0 {
            s += dot3_dual(&row, w).tanh();
        } else {
            s -= dot3_dual(&row, w) * 0.5;
        }
    }
    s
}

#[test]
fn recursion_by_a_self_call() {
    for n in [0, 1, 4, 7] {
        check_scalar(
            &format!("power n = {n}"),
            701 + n as u64,
            |r| vec![uniform(r, -1.5, 1.5)],
            |p| power(p[0], n),
            |p, d| {
                let (v, g) = power_value_and_backward(p[0], n, d);
                (v, vec![g])
            },
            |p, d| vec![power_backward(p[0], n, d)],
            |p| p[0].powi(n),
        );
    }
}

#[test]
fn recursion_over_a_borrowed_slice() {
    for n in [1, 3, 9] {
        check_scalar(
            &format!("tail_sum n = {n}"),
            711 + n as u64,
            |r| uniform_vec(r, n + 1, -1.5, 1.5),
            |p| tail_sum(&p[..n], 0, p[n]),
            |p, d| {
                let (v, (gx, gw)) = tail_sum_value_and_backward(&p[..n], 0, p[n], d);
                (v, [gx, vec![gw]].concat())
            },
            |p, d| {
                let (gx, gw) = tail_sum_backward(&p[..n], 0, p[n], d);
                [gx, vec![gw]].concat()
            },
            |p| tail_sum_dual(&p[..n], 0, p[n]),
        );
    }
}

#[test]
fn a_deep_call_graph_with_two_calls_per_level() {
    check_scalar(
        "level9",
        721,
        |r| uniform_vec(r, 2, -2.0, 2.0),
        |p| level9(p[0], p[1]),
        |p, d| {
            let (v, (gx, gy)) = level9_value_and_backward(p[0], p[1], d);
            (v, vec![gx, gy])
        },
        |p, d| {
            let (gx, gy) = level9_backward(p[0], p[1], d);
            vec![gx, gy]
        },
        |p| level_dual(9, p[0], p[1]),
    );
}

#[test]
fn arguments_borrowed_only_for_the_call() {
    check_scalar(
        "borrowed_for_the_call",
        731,
        |r| uniform_vec(r, 5, -1.5, 1.5),
        |p| borrowed_for_the_call(p[0], p[1], &p[2..]),
        |p, d| {
            let (v, (ga, gb, gw)) =
                borrowed_for_the_call_value_and_backward(p[0], p[1], &p[2..], d);
            (v, [vec![ga, gb], gw].concat())
        },
        |p, d| {
            let (ga, gb, gw) = borrowed_for_the_call_backward(p[0], p[1], &p[2..], d);
            [vec![ga, gb], gw].concat()
        },
        |p| borrowed_for_the_call_dual(p[0], p[1], &p[2..]),
    );
}
