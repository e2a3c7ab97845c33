//! Assertions in a differentiated function (`assert!`, `assert_eq!`,
//! `assert_ne!`, their `debug_` forms, also through `std::` and `core::`)
//! are checked by the generated functions too, where the function checks
//! them and with its message: `NAME_backward` panics on the inputs `NAME`
//! panics on, and its panic points at the assertion. They change no
//! gradient: each function here is checked against num-dual and central
//! differences, in loops the macro fuses and lags, in branches, in a
//! `while` loop and in a callee.

// Loops over indices: the form `#[differentiate]` reads.
#![allow(clippy::needless_range_loop)]

mod common;

use common::*;
use neuron::{differentiate, relu};
use num_dual::{Dual64, DualNum};

/// The shape check most forward code starts with, before a loop the macro
/// fuses into one sweep.
#[differentiate]
fn dot(x: &[f64], w: &[f64]) -> f64 {
    debug_assert_eq!(x.len(), w.len());
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (x[i] * w[i]).sin();
    }
    s
}

fn dot_dual(x: &[Dual64], w: &[Dual64]) -> Dual64 {
    x.iter()
        .zip(w)
        .fold(c(0.0), |s, (a, b)| s + (*a * *b).sin())
}

/// A message with arguments, named arguments and captured names, and an
/// assertion inside the rows of a layer (a loop whose reverse runs a row
/// late).
#[differentiate]
fn layer(x: &[f64], w: &[f64], #[no_grad] dy: &[f64]) -> f64 {
    let n = dy.len();
    assert_eq!(
        w.len(),
        n * x.len(),
        "w has {} weights, expected {n} rows of {cols}",
        w.len(),
        cols = x.len()
    );
    let mut loss = 0.0;
    for i in 0..n {
        let mut z = 0.0;
        for j in 0..x.len() {
            z += w[i * x.len() + j] * x[j];
        }
        assert!(z.is_finite(), "row {i}: z = {z}");
        loss += dy[i] * relu(z).tanh();
    }
    loss
}

fn layer_dual(x: &[Dual64], w: &[Dual64], dy: &[f64]) -> Dual64 {
    let mut loss = c(0.0);
    for (i, d) in dy.iter().enumerate() {
        let z = (0..x.len()).fold(c(0.0), |s, j| s + w[i * x.len() + j] * x[j]);
        loss += dmax(z, c(0.0)).tanh() * *d;
    }
    loss
}

/// Assertions in both arms of a branch, in a `while` loop, and named
/// through `std::` and `core::`.
#[differentiate]
fn branches(x: f64, y: f64) -> f64 {
    let mut r = x * y;
    if x > 0.0 {
        assert!(y.abs() > 1e-3, "y is too small for x = {x}");
        r = x / y;
    } else {
        debug_assert_ne!(x, y);
    }
    let mut k = r;
    while k.abs() > 1.0 {
        std::debug_assert!(k.is_finite());
        k *= 0.5;
    }
    core::assert!(k.abs() <= 1.0, "{k:.3} is more than 1");
    k + r
}

fn branches_dual(x: Dual64, y: Dual64) -> Dual64 {
    let r = if x.re > 0.0 { x / y } else { x * y };
    let mut k = r;
    while k.re.abs() > 1.0 {
        k *= 0.5;
    }
    k + r
}

/// A callee's assertion runs in its caller's sweeps.
#[differentiate]
fn twice_dot(x: &[f64], w: &[f64]) -> f64 {
    let d = dot(x, w);
    assert!(d.abs() < 1e6);
    d * d + d
}

#[test]
fn a_shape_check_before_a_fused_loop() {
    check_scalar(
        "dot",
        1,
        |r| uniform_vec(r, 8, -1.5, 1.5),
        |p| dot(&p[..4], &p[4..]),
        |p, d| {
            let (v, (dx, dw)) = dot_value_and_backward(&p[..4], &p[4..], d);
            (v, [dx, dw].concat())
        },
        |p, d| {
            let (dx, dw) = dot_backward(&p[..4], &p[4..], d);
            [dx, dw].concat()
        },
        |p| dot_dual(&p[..4], &p[4..]),
    );
}

const DY: [f64; 3] = [0.5, -1.0, 2.0];

#[test]
fn assertions_with_messages_in_a_layer() {
    check_scalar(
        "layer",
        2,
        |r| uniform_vec(r, 4 + 12, -1.5, 1.5),
        |p| layer(&p[..4], &p[4..], &DY),
        |p, d| {
            let (v, (dx, dw)) = layer_value_and_backward(&p[..4], &p[4..], &DY, d);
            (v, [dx, dw].concat())
        },
        |p, d| {
            let (dx, dw) = layer_backward(&p[..4], &p[4..], &DY, d);
            [dx, dw].concat()
        },
        |p| layer_dual(&p[..4], &p[4..], &DY),
    );
}

#[test]
fn assertions_in_branches_and_a_while_loop() {
    check_scalar(
        "branches",
        3,
        |r| vec![away_from_zero(r, 0.2, 3.0), away_from_zero(r, 0.2, 3.0)],
        |p| branches(p[0], p[1]),
        |p, d| {
            let (v, (dx, dy)) = branches_value_and_backward(p[0], p[1], d);
            (v, vec![dx, dy])
        },
        |p, d| {
            let (dx, dy) = branches_backward(p[0], p[1], d);
            vec![dx, dy]
        },
        |p| branches_dual(p[0], p[1]),
    );
}

#[test]
fn a_callee_with_an_assertion() {
    check_scalar(
        "twice_dot",
        4,
        |r| uniform_vec(r, 6, -1.5, 1.5),
        |p| twice_dot(&p[..3], &p[3..]),
        |p, d| {
            let (v, (dx, dw)) = twice_dot_value_and_backward(&p[..3], &p[3..], d);
            (v, [dx, dw].concat())
        },
        |p, d| {
            let (dx, dw) = twice_dot_backward(&p[..3], &p[3..], d);
            [dx, dw].concat()
        },
        |p| {
            let d = dot_dual(&p[..3], &p[3..]);
            d * d + d
        },
    );
}

#[test]
#[should_panic(expected = "w has 11 weights, expected 3 rows of 4")]
fn the_backward_pass_panics_with_the_functions_message() {
    let _ = layer_backward(&[0.5; 4], &[0.5; 11], &DY, 1.0);
}

#[test]
#[should_panic(expected = "row 1: z = inf")]
fn a_check_inside_a_fused_loop_fails_at_its_row() {
    let mut w = [0.5; 12];
    w[5] = f64::INFINITY;
    let _ = layer_backward(&[0.5; 4], &w, &DY, 1.0);
}

#[test]
#[should_panic(expected = "y is too small for x = 2")]
fn a_check_in_a_branch_fails_when_the_branch_runs() {
    let _ = branches_value_and_backward(2.0, 1e-4, 1.0);
}

#[test]
fn a_check_in_the_other_branch_does_not_run() {
    // `y = 0` fails only the first arm's check; this point takes the second,
    // where the function is `2xy`.
    let (dx, dy) = branches_backward(-2.0, 0.0, 1.0);
    assert_eq!((dx, dy), (0.0, -4.0));
}

#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "assertion `left == right` failed\n  left: 3\n right: 2")]
fn a_callees_debug_assertion_runs_in_its_callers_backward_pass() {
    let _ = twice_dot_backward(&[1.0, 2.0, 3.0], &[1.0, 2.0], 1.0);
}

/// The panic's location is the assertion's line, as it is for the function.
#[test]
fn the_panic_points_at_the_assertion() {
    let line = std::sync::Arc::new(std::sync::Mutex::new(None));
    let seen = line.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload().downcast_ref::<String>();
        if message.is_some_and(|m| m.contains("w has 3 weights")) {
            *seen.lock().unwrap() = info.location().map(|l| (l.file().to_string(), l.line()));
        } else {
            previous(info);
        }
    }));
    let forward = std::panic::catch_unwind(|| layer(&[0.5; 4], &[0.5; 3], &DY));
    let in_function = line.lock().unwrap().take();
    let backward = std::panic::catch_unwind(|| layer_backward(&[0.5; 4], &[0.5; 3], &DY, 1.0));
    let in_backward = line.lock().unwrap().take();
    let _ = std::panic::take_hook();
    assert!(forward.is_err() && backward.is_err());
    assert!(in_function.is_some());
    assert_eq!(in_backward, in_function);
}
