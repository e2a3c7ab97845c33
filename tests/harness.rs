//! Tests of the test harness itself (`tests/common`), against hand-written
//! gradients, so that the oracles can be trusted when they judge the macro.
//! These do not use `#[differentiate]` and pass whatever state the macro is in.

mod common;

use common::*;
use num_dual::{Dual64, DualNum};

#[test]
fn finite_differences_of_a_square_give_twice_x() {
    for &x in &[-3.0, -0.5, 0.0, 0.25, 7.0, 1e3] {
        let g = fd_gradient(&|p: &[f64]| p[0] * p[0], &[x]);
        assert_close(g[0], 2.0 * x, FD_REL, FD_ABS, &format!("d x^2 at {x}"));
    }
}

#[test]
fn finite_differences_of_a_product_of_three() {
    let p = [1.5, -2.0, 0.75];
    let g = fd_gradient(&|p: &[f64]| p[0] * p[1] * p[2] + p[0].sin(), &p);
    let want = [p[1] * p[2] + p[0].cos(), p[0] * p[2], p[0] * p[1]];
    assert_all_close(&g, &want, FD_REL, FD_ABS, "d xyz + sin x");
}

#[test]
fn dual_gradient_is_exact() {
    let p = [0.3, -1.2];
    let (v, g) = dual_gradient(&|q: &[Dual64]| (q[0] * q[1]).exp() + q[1].powi(3), &p);
    assert_eq!(v, (p[0] * p[1]).exp() + p[1].powi(3));
    let e = (p[0] * p[1]).exp();
    assert_all_close(
        &g,
        &[p[1] * e, p[0] * e + 3.0 * p[1] * p[1]],
        1e-15,
        0.0,
        "d exp(xy) + y^3",
    );
}

#[test]
fn dual_activations_match_the_crate_values() {
    // The dual twins in `common::act` are written from the definitions; their
    // values must match neuron's forward functions.
    let mut r = rng(1);
    for _ in 0..POINTS {
        let x = uniform(&mut r, -4.0, 4.0);
        let a = uniform(&mut r, 0.01, 0.3);
        let cases = [
            ("relu", act::relu(c(x)).re, neuron::relu(x)),
            ("sigmoid", act::sigmoid(c(x)).re, neuron::sigmoid(x)),
            ("softplus", act::softplus(c(x)).re, neuron::softplus(x)),
            (
                "leaky_relu",
                act::leaky_relu(c(x), c(a)).re,
                neuron::leaky_relu(x, a),
            ),
            ("gelu", act::gelu(c(x)).re, neuron::gelu(x)),
            ("silu", act::silu(c(x)).re, neuron::silu(x)),
        ];
        for (name, dual, crate_value) in cases {
            assert_close(dual, crate_value, 1e-14, 1e-15, &format!("{name}({x})"));
        }
    }
}

#[test]
fn assert_close_accepts_within_tolerance() {
    assert_close(1.0, 1.0 + 1e-13, DUAL_REL, 0.0, "relative");
    assert_close(0.0, 1e-13, 0.0, DUAL_ABS, "absolute");
    assert_close(f64::INFINITY, f64::INFINITY, 0.0, 0.0, "infinity");
}

#[test]
#[should_panic(expected = "got 1.1e0, expected 1e0")]
fn assert_close_rejects_outside_tolerance() {
    assert_close(1.1, 1.0, 1e-6, 1e-6, "case");
}

#[test]
#[should_panic(expected = "case")]
fn assert_close_rejects_nan() {
    assert_close(f64::NAN, f64::NAN, 1.0, 1.0, "case");
}

#[test]
#[should_panic(expected = "component 1")]
fn assert_all_close_names_the_component() {
    assert_all_close(&[1.0, 2.0], &[1.0, 3.0], 1e-6, 1e-6, "case");
}

// A hand-written backward in the shape the macro generates, to exercise the
// drivers end to end.
fn f(x: f64, y: f64) -> f64 {
    (x * y).sin() + x / y
}
fn f_value_and_backward(x: f64, y: f64, d: f64) -> (f64, (f64, f64)) {
    let c = (x * y).cos();
    (f(x, y), (d * (c * y + 1.0 / y), d * (c * x - x / (y * y))))
}
fn f_backward(x: f64, y: f64, d: f64) -> (f64, f64) {
    f_value_and_backward(x, y, d).1
}

#[test]
fn check_scalar_passes_a_correct_backward() {
    check_scalar(
        "hand-written",
        2,
        |r| vec![uniform(r, -2.0, 2.0), away_from_zero(r, 0.5, 2.0)],
        |p| f(p[0], p[1]),
        |p, d| {
            let (v, (a, b)) = f_value_and_backward(p[0], p[1], d);
            (v, vec![a, b])
        },
        |p, d| {
            let (a, b) = f_backward(p[0], p[1], d);
            vec![a, b]
        },
        |q| (q[0] * q[1]).sin() + q[0] / q[1],
    );
}

#[test]
#[should_panic(expected = "gradient vs num-dual")]
fn check_scalar_catches_a_wrong_backward() {
    check_scalar(
        "wrong",
        3,
        |r| vec![uniform(r, -2.0, 2.0), away_from_zero(r, 0.5, 2.0)],
        |p| f(p[0], p[1]),
        |p, d| {
            let (v, (a, b)) = f_value_and_backward(p[0], p[1], d);
            (v, vec![a, b * 1.001])
        },
        |p, d| {
            let (a, b) = f_backward(p[0], p[1], d);
            vec![a, b]
        },
        |q| (q[0] * q[1]).sin() + q[0] / q[1],
    );
}

#[test]
#[should_panic(expected = "TEST BUG")]
fn check_scalar_catches_a_wrong_oracle() {
    check_scalar(
        "oracle",
        4,
        |r| vec![uniform(r, -2.0, 2.0)],
        |p| p[0].sin(),
        |p, d| (p[0].sin(), vec![d * p[0].cos()]),
        |p, d| vec![d * p[0].cos()],
        |q| q[0].cos(),
    );
}

// Array output: y = [x0 * x1, x0.exp()], by hand.
fn g(x: [f64; 2]) -> [f64; 2] {
    [x[0] * x[1], x[0].exp()]
}
fn g_value_and_backward(x: [f64; 2], d: [f64; 2]) -> ([f64; 2], [f64; 2]) {
    (g(x), [d[0] * x[1] + d[1] * x[0].exp(), d[0] * x[0]])
}

#[test]
fn check_vjp_passes_a_correct_backward() {
    check_vjp(
        "hand-written vjp",
        5,
        2,
        |r| uniform_vec(r, 2, -2.0, 2.0),
        |p| g(arr(p)).to_vec(),
        |p, d| {
            let (v, gr) = g_value_and_backward(arr(p), arr(d));
            (v.to_vec(), gr.to_vec())
        },
        |p, d| g_value_and_backward(arr(p), arr(d)).1.to_vec(),
        |q| vec![q[0] * q[1], q[0].exp()],
    );
}

#[test]
fn nested_array_helpers_are_row_major() {
    let a: [[f64; 3]; 2] = arr2(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(a, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    assert_eq!(flat2(a), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
}
