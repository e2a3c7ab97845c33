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

/// `#[no_grad]` makes a parameter a constant of its own function; a caller
/// that passes an active value into it silently loses that path, so the
/// caller's gradient is wrong (3 instead of 6 here): found as a num-dual
/// mismatch of ~1e-3 in a generated caller. It should propagate through, or be
/// a compile error in a differentiated caller.
#[test]
fn call_through_a_no_grad_parameter() {
    // d/dx (x * x) = 2x.
    assert_eq!(through_no_grad(3.0), 9.0);
    assert_eq!(through_no_grad_backward(3.0, 1.0), 6.0);
}
