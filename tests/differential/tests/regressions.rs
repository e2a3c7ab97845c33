//! Failures the differential generator (`build.rs`) found, shrunk by hand to
//! small cases and kept as regression tests now that the macro handles them.
//! The compile-time failures are whole programs under `bugs/`, compiled and
//! run by trybuild; each `main` asserts the gradient.

fn passes(file: &str) {
    trybuild::TestCases::new().pass(file);
}

#[test]
fn value_only_compared() {
    passes("bugs/value_only_compared.rs");
}

#[test]
fn cast_on_the_left_of_a_comparison() {
    passes("bugs/cast_on_the_left_of_a_comparison.rs");
}

#[test]
fn annotated_literal_let_mut() {
    passes("bugs/annotated_literal_let_mut.rs");
}

#[test]
fn second_call_in_a_loop() {
    passes("bugs/second_call_in_a_loop.rs");
}

#[test]
fn nested_call_in_an_early_return() {
    passes("bugs/nested_call_in_an_early_return.rs");
}

#[neuron::differentiate]
fn scale_by(a: f64, #[no_grad] b: f64) -> f64 {
    a * b
}

#[neuron::differentiate]
fn through_no_grad(x: f64) -> f64 {
    scale_by(x, x)
}

/// `#[no_grad]` made a parameter a constant of its own function, and a caller
/// that passed an active value into it silently lost that path (3 instead of
/// 6 here): found as a num-dual mismatch of ~1e-3 in a generated caller. The
/// gradient now propagates through.
#[test]
fn call_through_a_no_grad_parameter() {
    // d/dx (x * x) = 2x.
    assert_eq!(through_no_grad(3.0), 9.0);
    assert_eq!(through_no_grad_backward(3.0, 1.0), 6.0);
}

const K: f64 = 0.3;

#[neuron::differentiate]
fn affine(a: f64, b: [f64; 2]) -> f64 {
    a * b[0] + b[1]
}

#[neuron::differentiate]
fn constant_array_argument(s: Vec<f64>) -> f64 {
    let t: f64 = K;
    let c = affine(t, [t, t]);
    c * s[0]
}

/// `[t, t]` with `let t: f64 = K;` was emitted from its source tokens, but `t`
/// is a constant written inline and never bound: "cannot find value `t`".
/// Found by the 10 000-function run.
#[test]
fn constant_array_literal_of_a_named_constant() {
    assert_eq!(
        constant_array_argument_backward(vec![2.0], 1.0),
        vec![K * K + K]
    );
}

#[neuron::differentiate]
fn activation_of_a_constant(s: &[f64]) -> f64 {
    let t: f64 = 3.0;
    neuron::leaky_relu(t, 0.01).max(s[0]) * s[1]
}

/// `leaky_relu(3.0, 0.01).max(..)` with every argument a constant: the
/// activation's float type was ambiguous (E0689). Found by the 10 000-function run.
#[test]
fn activation_of_constants_has_a_float_type() {
    assert_eq!(
        activation_of_a_constant_backward(&[2.0, 5.0], 1.0),
        vec![0.0, 3.0]
    );
}
