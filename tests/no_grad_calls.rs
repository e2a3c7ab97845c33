//! `#[no_grad]` keeps a gradient out of `NAME_backward`'s result, but a
//! caller that passes an active value to that parameter still gets its
//! gradient through the call. A caller that passes data (a value without a
//! gradient) to every `#[no_grad]` parameter gets the callee's own sweep,
//! which does not compute their gradients: both ways are checked here
//! against num-dual.

mod common;

use common::{assert_all_close, dual_gradient, lift, tanh_layer_dual, uniform_vec};
use neuron::differentiate;
use num_dual::{Dual64, DualNum};

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

include!("common/tanh_layer.rs");
tanh_layer_fns!(#[no_grad]);

/// One `#[no_grad]` argument active, the other data: every gradient.
#[differentiate]
fn affine(#[no_grad] a: f64, #[no_grad] b: f64, w: f64) -> f64 {
    (a * w + b).sin()
}

#[differentiate]
fn mixed(x: f64, w: f64) -> f64 {
    affine(x, 0.5, w) + affine(0.25, x * x, w)
}

/// A recursion with a `#[no_grad]` parameter: `s x^n`, by self-calls.
#[differentiate]
fn scaled_power(x: f64, #[no_grad] s: f64, n: i32) -> f64 {
    if n == 0 {
        s
    } else {
        x * scaled_power(x, s, n - 1)
    }
}

#[differentiate]
fn through_recursion(x: f64, s: f64) -> f64 {
    scaled_power(x, s, 3) + scaled_power(s, 2.0, 2)
}

#[test]
fn data_into_no_grad_parameters_gives_the_exact_gradient() {
    let mut rng = common::rng(7);
    for n in [1, 3, 8] {
        let (x, w) = (
            uniform_vec(&mut rng, n, -1.0, 1.0),
            uniform_vec(&mut rng, n * n, -1.0, 1.0),
        );
        let square = |v: &[Dual64], x: &[Dual64]| {
            let a = tanh_layer_dual(x, v);
            a * a
        };
        let xd = lift(&x, usize::MAX);
        let (_, exact_w) = dual_gradient(&|v| square(v, &xd), &w);
        // The own sweep gives `()` for x, and `data_loss_backward` only d/dw.
        let dw = data_loss_backward(&x, &w, 1.0);
        assert_all_close(&dw, &exact_w, 1e-13, 1e-14, "data: d/dw");
        // With x active, the call takes the sweep with every gradient.
        let both: Vec<f64> = x.iter().chain(&w).copied().collect();
        let (_, exact) = dual_gradient(&|v| square(&v[n..], &v[..n]), &both);
        let (dx, dw) = activation_loss_backward(&x, &w, 1.0);
        assert_all_close(&dx, &exact[..n], 1e-13, 1e-14, "activation: d/dx");
        assert_all_close(&dw, &exact[n..], 1e-13, 1e-14, "activation: d/dw");
    }
}

#[test]
fn one_active_no_grad_argument_is_enough_for_every_gradient() {
    let f = |v: &[Dual64]| {
        let (x, w) = (v[0], v[1]);
        (x * w + 0.5).sin() + (w * 0.25 + x * x).sin()
    };
    for p in [[0.3, -1.2], [1.7, 0.4], [-0.8, 2.5]] {
        let (_, exact) = dual_gradient(&f, &p);
        let (dx, dw) = mixed_backward(p[0], p[1], 1.0);
        assert_all_close(&[dx, dw], &exact, 1e-14, 1e-15, "mixed");
    }
}

#[test]
fn a_recursion_with_a_no_grad_parameter_gives_the_exact_gradient() {
    let f = |v: &[Dual64]| {
        let (x, s) = (v[0], v[1]);
        s * x.powi(3) + s * s * 2.0
    };
    for p in [[0.3, -1.2], [1.7, 0.4], [-0.8, 2.5]] {
        let (_, exact) = dual_gradient(&f, &p);
        let (dx, ds) = through_recursion_backward(p[0], p[1], 1.0);
        assert_all_close(&[dx, ds], &exact, 1e-14, 1e-15, "through the recursion");
        // The function's own backward: d/dx only.
        let own = scaled_power_backward(p[0], p[1], 3, 1.0);
        assert_all_close(&[own], &[3.0 * p[1] * p[0] * p[0]], 1e-14, 1e-15, "own");
    }
}
