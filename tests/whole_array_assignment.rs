//! Assigning a whole array: a recurrent state that is an array, updated by a
//! call each step, `vec![c; n]` buffers, and rows assigned from array
//! literals. Checked against central finite differences, and the rows also
//! against num-dual.

mod common;

use common::{arr2, c, check_vjp, fd_gradient, flat2, uniform_vec};
use neuron::differentiate;
use num_dual::DualNum;

#[differentiate]
fn layer(h: [f64; 2], w: [[f64; 2]; 2]) -> [f64; 2] {
    let mut out = [0.0; 2];
    for j in 0..2 {
        out[j] = (w[j][0] * h[0] + w[j][1] * h[1]).tanh();
    }
    out
}

#[differentiate]
fn deep(x: [f64; 2], w: [[f64; 2]; 2]) -> f64 {
    let mut h = x;
    for _ in 0..3 {
        h = layer(h, w);
    }
    h[0] + 2.0 * h[1]
}

#[differentiate]
fn cubes(x: &[f64]) -> f64 {
    let n = x.len();
    let mut sq = vec![0.0; n];
    for i in 0..n {
        sq[i] = x[i] * x[i];
    }
    let mut s = 0.0;
    for i in 0..n {
        s += sq[i] * x[i];
    }
    s
}

fn assert_close(got: &[f64], want: &[f64]) {
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= 1e-7 * w.abs().max(1.0),
            "{got:?} vs {want:?}"
        );
    }
}

#[test]
fn array_state_updated_by_a_call_in_a_loop() {
    let p = [0.3, -0.7, 0.5, -0.2, 0.8, 0.1];
    let (dx, dw) = deep_backward([p[0], p[1]], [[p[2], p[3]], [p[4], p[5]]], 1.0);
    let got = [dx[0], dx[1], dw[0][0], dw[0][1], dw[1][0], dw[1][1]];
    let want = fd_gradient(&|q| deep([q[0], q[1]], [[q[2], q[3]], [q[4], q[5]]]), &p);
    assert_close(&got, &want);
}

#[test]
fn vec_buffers() {
    let x = [1.0, 2.0, -3.0];
    assert_eq!(cubes_backward(&x, 1.0), vec![3.0, 12.0, 27.0]);
    assert_close(&cubes_backward(&x, 1.0), &fd_gradient(&|q| cubes(q), &x));
}

/// Rows assigned from array literals with computed elements: how the compile
/// error for an array literal of arrays (`tests/ui/nested_array_literal.rs`)
/// says to write one.
#[differentiate]
fn rows_from_literals(x: f64, y: f64) -> [[f64; 2]; 2] {
    let mut h = [[0.0; 2]; 2];
    h[0] = [x, x * y];
    h[1] = [y.sin(), 1.0];
    h
}

#[test]
fn rows_assigned_from_array_literals_give_the_exact_gradient() {
    check_vjp(
        "rows_from_literals",
        761,
        4,
        |r| uniform_vec(r, 2, -1.5, 1.5),
        |p| flat2(rows_from_literals(p[0], p[1])),
        |p, d| {
            let (v, (gx, gy)) = rows_from_literals_value_and_backward(p[0], p[1], arr2(d));
            (flat2(v), vec![gx, gy])
        },
        |p, d| {
            let (gx, gy) = rows_from_literals_backward(p[0], p[1], arr2(d));
            vec![gx, gy]
        },
        |p| vec![p[0], p[0] * p[1], p[1].sin(), c(1.0)],
    );
}
