//! `#[no_grad]` keeps a gradient out of `NAME_backward`'s result, but a
//! caller that passes an active value to that parameter still gets its
//! gradient through the call.

use neuron::differentiate;

#[differentiate]
fn scale(x: f64, #[no_grad] s: f64) -> f64 {
    x * s
}

#[differentiate]
fn outer(x: f64, y: f64) -> f64 {
    scale(x, y) + scale(y, 2.0)
}

#[differentiate]
fn weighted(x: [f64; 2], #[no_grad] w: [f64; 2]) -> f64 {
    x[0] * w[0] + x[1] * w[1]
}

#[differentiate]
fn through_array(a: [f64; 2], b: [f64; 2]) -> f64 {
    weighted(a, b) * weighted(b, a)
}

#[test]
fn no_grad_parameter_has_no_gradient_in_backward() {
    // scale_backward returns only d/dx.
    let dx: f64 = scale_backward(2.0, 3.0, 1.0);
    assert_eq!(dx, 3.0);
}

#[test]
fn caller_gets_the_gradient_through_a_no_grad_parameter() {
    // outer = x y + 2 y: d/dx = y, d/dy = x + 2.
    let (dx, dy) = outer_backward(2.0, 3.0, 1.0);
    assert_eq!(dx, 3.0);
    assert_eq!(dy, 4.0);
}

#[test]
fn caller_gets_the_gradient_through_a_no_grad_array_parameter() {
    // f = (a·b)^2: df/da = 2 (a·b) b, df/db = 2 (a·b) a.
    let (a, b) = ([1.0, 2.0], [3.0, -1.0]);
    let dot = a[0] * b[0] + a[1] * b[1];
    let (da, db) = through_array_backward(a, b, 1.0);
    assert_eq!(da, [2.0 * dot * b[0], 2.0 * dot * b[1]]);
    assert_eq!(db, [2.0 * dot * a[0], 2.0 * dot * a[1]]);
}
