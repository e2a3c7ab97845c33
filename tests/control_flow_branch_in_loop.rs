//! Issue 3: an `if`/`else` statement as the last statement of a `for` body
//! (no trailing semicolon), checked like the rest of `control_flow.rs`.
//! The macro once took such an `if` for a value-giving expression; these
//! cases keep it from coming back.
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

#[differentiate]
fn while_tail_if(x: f64, y: f64) -> f64 {
    let mut v = x;
    let mut k = 0;
    while k < 3 {
        k += 1;
        if v > 0.0 {
            v *= y;
        } else {
            v -= y * y;
        }
    }
    v
}

#[test]
fn if_statement_as_tail_of_a_while_body() {
    // Every iterate at least 0.05 away from the branch boundary v = 0.
    let iterates_off_zero = |x: f64, y: f64| {
        let mut v = x;
        for _ in 0..3 {
            if v.abs() < 0.05 {
                return false;
            }
            v = if v > 0.0 { v * y } else { v - y * y };
        }
        true
    };
    check_scalar(
        "while_tail_if",
        531,
        |r| loop {
            let p = uniform_vec(r, 2, -2.0, 2.0);
            if iterates_off_zero(p[0], p[1]) {
                break p;
            }
        },
        |p| while_tail_if(p[0], p[1]),
        |p, d| {
            let (v, (a, b)) = while_tail_if_value_and_backward(p[0], p[1], d);
            (v, vec![a, b])
        },
        |p, d| {
            let (a, b) = while_tail_if_backward(p[0], p[1], d);
            vec![a, b]
        },
        |q| {
            let mut v = q[0];
            for _ in 0..3 {
                v = if v.re > 0.0 {
                    v * q[1]
                } else {
                    v - q[1] * q[1]
                };
            }
            v
        },
    );
}

#[differentiate]
fn nested_if_tail(x: [f64; 4]) -> f64 {
    let mut s = 0.0;
    for i in 0..4 {
        let v = x[i];
        if v > 0.0 {
            if v > 1.0 {
                s += v * v;
            } else {
                s += v;
            }
        } else {
            s -= v;
        };
    }
    s
}

#[test]
fn nested_if_statement_as_tail_of_an_if_block() {
    // The inner if/else is the tail of the outer then-block; the outer one
    // has its semicolon. Points off the kinks v = 0 and v = 1.
    check_scalar(
        "nested_if_tail",
        532,
        |r| loop {
            let p = uniform_vec(r, 4, -2.0, 2.0);
            if p.iter().all(|v| v.abs() > 0.05 && (v - 1.0).abs() > 0.05) {
                break p;
            }
        },
        |p| nested_if_tail(arr(p)),
        |p, d| {
            let (v, g) = nested_if_tail_value_and_backward(arr(p), d);
            (v, g.to_vec())
        },
        |p, d| nested_if_tail_backward(arr(p), d).to_vec(),
        |q| {
            q.iter().fold(c(0.0), |s, &v| {
                if v.re > 1.0 {
                    s + v * v
                } else if v.re > 0.0 {
                    s + v
                } else {
                    s - v
                }
            })
        },
    );
}
