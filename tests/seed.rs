//! The book's single neuron (Neural Networks from Scratch, chapter 9):
//! `relu(x · w + b)` with exact numbers.

mod common;

use common::*;
use neuron::{differentiate, relu};

#[differentiate]
fn neuron(x: [f64; 3], w: [f64; 3], b: f64) -> f64 {
    relu(x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + b)
}

const X: [f64; 3] = [1.0, -2.0, 3.0];
const W: [f64; 3] = [-3.0, -1.0, 2.0];
const B: f64 = 1.0;

#[test]
fn forward_is_six() {
    assert_eq!(neuron(X, W, B), 6.0);
}

#[test]
fn gradient_is_the_books() {
    // Every product here is of small integers: the results are exact.
    let (dx, dw, db) = neuron_backward(X, W, B, 1.0);
    assert_eq!(dx, [-3.0, -1.0, 2.0], "dx = w");
    assert_eq!(dw, [1.0, -2.0, 3.0], "dw = x");
    assert_eq!(db, 1.0, "db");
}

#[test]
fn gradient_types_follow_the_params() {
    let (dx, dw, db): ([f64; 3], [f64; 3], f64) = neuron_backward(X, W, B, 1.0);
    assert_eq!((dx.len(), dw.len()), (3, 3));
    assert_eq!(db, 1.0);
}

#[test]
fn upstream_gradient_scales_everything() {
    // 2.5 times a small integer is exact in binary floating point.
    let (dx, dw, db) = neuron_backward(X, W, B, 2.5);
    assert_eq!(dx, [-7.5, -2.5, 5.0]);
    assert_eq!(dw, [2.5, -5.0, 7.5]);
    assert_eq!(db, 2.5);
}

#[test]
fn value_and_backward_returns_the_forward_value() {
    let (y, (dx, dw, db)) = neuron_value_and_backward(X, W, B, 1.0);
    assert_eq!(y, 6.0);
    assert_eq!((dx, dw, db), neuron_backward(X, W, B, 1.0));
}

#[test]
fn book_step_on_weights_and_bias_gives_5_985() {
    // The book's update: w -= 0.001 dw, b -= 0.001 db, inputs unchanged.
    let (_, dw, db) = neuron_backward(X, W, B, 1.0);
    let w: [f64; 3] = std::array::from_fn(|i| W[i] - 0.001 * dw[i]);
    let b = B - 0.001 * db;
    assert_close(neuron(X, w, b), 5.985, 0.0, 1e-12, "output after the step");
}

#[test]
fn step_on_inputs_weights_and_bias_lowers_the_output_further() {
    // Also stepping the inputs: x' = [1.003, -1.999, 2.998],
    // w' = [-3.001, -0.998, 1.997], b' = 0.999, so
    // x'·w' + b' = -3.010003 + 1.995002 + 5.987006 + 0.999 = 5.971005.
    let (dx, dw, db) = neuron_backward(X, W, B, 1.0);
    let x: [f64; 3] = std::array::from_fn(|i| X[i] - 0.001 * dx[i]);
    let w: [f64; 3] = std::array::from_fn(|i| W[i] - 0.001 * dw[i]);
    let b = B - 0.001 * db;
    assert_close(
        neuron(x, w, b),
        5.971005,
        0.0,
        1e-12,
        "output after the step",
    );
}

#[test]
fn inactive_relu_passes_no_gradient() {
    // Pre-activation 6 - 10 = -4 < 0.
    let (dx, dw, db) = neuron_backward(X, W, -9.0, 1.0);
    assert_eq!((dx, dw, db), ([0.0; 3], [0.0; 3], 0.0));
}

#[test]
fn relu_at_exactly_zero_passes_no_gradient() {
    // Pre-activation 5 - 5 = 0 exactly; relu'(0) = 0 by the contract.
    let (dx, dw, db) = neuron_backward(X, W, -5.0, 1.0);
    assert_eq!((dx, dw, db), ([0.0; 3], [0.0; 3], 0.0));
}

#[test]
fn random_points_match_the_oracles() {
    // Keep the pre-activation at least 0.05 away from relu's kink.
    check_scalar(
        "neuron",
        10,
        |r| loop {
            let p = uniform_vec(r, 7, -2.0, 2.0);
            let z = p[0] * p[3] + p[1] * p[4] + p[2] * p[5] + p[6];
            if z.abs() > 0.05 {
                break p;
            }
        },
        |p| neuron(arr(p), arr(&p[3..]), p[6]),
        |p, d| {
            let (y, (dx, dw, db)) = neuron_value_and_backward(arr(p), arr(&p[3..]), p[6], d);
            (y, [&dx[..], &dw[..], &[db]].concat())
        },
        |p, d| {
            let (dx, dw, db) = neuron_backward(arr(p), arr(&p[3..]), p[6], d);
            [&dx[..], &dw[..], &[db]].concat()
        },
        |q| act::relu(q[0] * q[3] + q[1] * q[4] + q[2] * q[5] + q[6]),
    );
}
