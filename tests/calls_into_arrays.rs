//! A call's gradient for an array argument that is the first contribution
//! to that array's adjoint (the caller's reverse sweep runs backwards, so
//! the last call that reads the array) becomes the adjoint, instead of being
//! added into a zeroed copy. Checked here for every pair of array types a
//! caller and a callee can have (a slice passed on, an array passed by
//! value, an array passed as a slice, arrays of arrays), for two arrays
//! declared by one call, for a local array, and for arrays that more
//! contributions reach after the call, against num-dual and finite
//! differences. Also for an element an iterator holds as a scalar, whose
//! adjoint a call starts (found by the differential tests, seed 24002: the
//! generated code did not compile).

// Loops over indices: the form `#[differentiate]` reads.
#![allow(clippy::needless_range_loop)]

mod common;

use common::{c, check_scalar, uniform_vec};
use neuron::differentiate;
use num_dual::{Dual64, DualNum};

#[differentiate]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        s += (a[i] * b[i]).sin();
    }
    s
}

fn dot_dual(a: &[Dual64], b: &[Dual64]) -> Dual64 {
    a.iter()
        .zip(b)
        .fold(c(0.0), |s, (x, y)| s + (*x * *y).sin())
}

#[differentiate]
fn cube_sum(v: [f64; 3]) -> f64 {
    v[0] * v[0] * v[0] + v[1] * v[1] * v[1] + v[2] * v[2] * v[2]
}

fn cube_sum_dual(v: &[Dual64]) -> Dual64 {
    v[0].powi(3) + v[1].powi(3) + v[2].powi(3)
}

#[differentiate]
fn row_products(m: &[[f64; 2]]) -> f64 {
    let mut s = 0.0;
    for i in 0..m.len() {
        s += m[i][0] * m[i][1];
    }
    s
}

/// Slices passed on: `d_x` and `d_y` are both declared by the last call.
#[differentiate]
fn slices(x: &[f64], y: &[f64]) -> f64 {
    dot(x, x) * 0.5 + dot(x, y).tanh()
}

/// An array by value to an array parameter, and as a slice (a `Vec`
/// gradient for a `[f64; 3]` adjoint), then read directly.
#[differentiate]
fn arrays(x: [f64; 3], y: [f64; 3]) -> f64 {
    let a = dot(&x, &y);
    let b = cube_sum(x) * a;
    b + x[0] * y[2]
}

/// An array of arrays passed as a slice of arrays.
#[differentiate]
fn nested(m: [[f64; 2]; 3], w: f64) -> f64 {
    row_products(&m) * w + m[2][1]
}

/// A local array built from the parameters, then passed to a call.
#[differentiate]
fn local(x: [f64; 3], s: f64) -> f64 {
    let mut h = x;
    h[1] *= s;
    cube_sum(h) + h[0]
}

#[test]
fn slices_passed_on() {
    check_scalar(
        "slices",
        1,
        |r| uniform_vec(r, 8, -1.5, 1.5),
        |p| slices(&p[..4], &p[4..]),
        |p, d| {
            let (v, (dx, dy)) = slices_value_and_backward(&p[..4], &p[4..], d);
            (v, [dx, dy].concat())
        },
        |p, d| {
            let (dx, dy) = slices_backward(&p[..4], &p[4..], d);
            [dx, dy].concat()
        },
        |p| dot_dual(&p[..4], &p[..4]) * 0.5 + dot_dual(&p[..4], &p[4..]).tanh(),
    );
}

#[test]
fn arrays_by_value_and_as_slices() {
    let split = |p: &[f64]| -> ([f64; 3], [f64; 3]) {
        (p[..3].try_into().unwrap(), p[3..].try_into().unwrap())
    };
    check_scalar(
        "arrays",
        2,
        |r| uniform_vec(r, 6, -1.5, 1.5),
        |p| {
            let (x, y) = split(p);
            arrays(x, y)
        },
        |p, d| {
            let (x, y) = split(p);
            let (v, (dx, dy)) = arrays_value_and_backward(x, y, d);
            (v, [dx, dy].concat())
        },
        |p, d| {
            let (x, y) = split(p);
            let (dx, dy) = arrays_backward(x, y, d);
            [dx, dy].concat()
        },
        |p| {
            let a = dot_dual(&p[..3], &p[3..]);
            cube_sum_dual(&p[..3]) * a + p[0] * p[5]
        },
    );
}

#[test]
fn an_array_of_arrays_as_a_slice() {
    let split =
        |p: &[f64]| -> ([[f64; 2]; 3], f64) { ([[p[0], p[1]], [p[2], p[3]], [p[4], p[5]]], p[6]) };
    check_scalar(
        "nested",
        3,
        |r| uniform_vec(r, 7, -1.5, 1.5),
        |p| {
            let (m, w) = split(p);
            nested(m, w)
        },
        |p, d| {
            let (m, w) = split(p);
            let (v, (dm, dw)) = nested_value_and_backward(m, w, d);
            (v, [dm.concat(), vec![dw]].concat())
        },
        |p, d| {
            let (m, w) = split(p);
            let (dm, dw) = nested_backward(m, w, d);
            [dm.concat(), vec![dw]].concat()
        },
        |p| (p[0] * p[1] + p[2] * p[3] + p[4] * p[5]) * p[6] + p[5],
    );
}

#[test]
fn a_local_array_passed_to_a_call() {
    check_scalar(
        "local",
        4,
        |r| uniform_vec(r, 4, -1.5, 1.5),
        |p| local(p[..3].try_into().unwrap(), p[3]),
        |p, d| {
            let (v, (dx, ds)) = local_value_and_backward(p[..3].try_into().unwrap(), p[3], d);
            (v, [dx.to_vec(), vec![ds]].concat())
        },
        |p, d| {
            let (dx, ds) = local_backward(p[..3].try_into().unwrap(), p[3], d);
            [dx.to_vec(), vec![ds]].concat()
        },
        |p| {
            let h = [p[0], p[1] * p[3], p[2]];
            cube_sum_dual(&h) + h[0]
        },
    );
}

#[differentiate]
fn pair(x: f64) -> [f64; 2] {
    [x.sin(), x * x]
}

#[differentiate]
fn weigh(u: f64, a: [f64; 2]) -> f64 {
    u * a[0] + a[1].sin()
}

/// The call's gradient for `u` is the first contribution to `d_u`, the
/// adjoint of an element of `v` held as a scalar.
#[differentiate]
fn held_element_into_a_call(x: f64, y: f64) -> f64 {
    let v = pair(x);
    let t = y.sin();
    v.iter()
        .copied()
        .map(|u| u * (x.signum() * weigh(u, [t, t])))
        .sum()
}

fn held_element_dual(x: Dual64, y: Dual64) -> Dual64 {
    let weigh = |u: Dual64, a: [Dual64; 2]| u * a[0] + a[1].sin();
    let t = y.sin();
    let sign = c(x.re.signum());
    [x.sin(), x * x]
        .into_iter()
        .map(|u| u * (sign * weigh(u, [t, t])))
        .fold(c(0.0), |s, e| s + e)
}

#[test]
fn held_element_whose_adjoint_a_call_starts() {
    check_scalar(
        "held element",
        11,
        // `x` away from 0, where `signum` jumps.
        |r| {
            vec![
                common::away_from_zero(r, 0.1, 2.0),
                common::uniform(r, -2.0, 2.0),
            ]
        },
        |p| held_element_into_a_call(p[0], p[1]),
        |p, d| {
            let (v, (dx, dy)) = held_element_into_a_call_value_and_backward(p[0], p[1], d);
            (v, vec![dx, dy])
        },
        |p, d| {
            let (dx, dy) = held_element_into_a_call_backward(p[0], p[1], d);
            vec![dx, dy]
        },
        |p| held_element_dual(p[0], p[1]),
    );
}
