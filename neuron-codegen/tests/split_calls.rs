//! The generated code for a call: the callee's forward sweep runs once, in
//! the caller's forward sweep, and the caller's reverse sweep only applies
//! the pullback it returned. (Gradients through calls are checked in the
//! root crate's `tests/calls.rs`.)

mod common;

use common::{expand, sweeps};

#[test]
fn a_callee_runs_forward_once_and_its_pullback_in_the_reverse_sweep() {
    let out = expand(
        "fn outer(x: &[f64], a: f64) -> f64 {
            let mut s = 0.0;
            for k in 0..3 { s += inner(x, a * (k as f64)).sin(); }
            if s > 0.0 { s = s * inner(x, s); }
            s
        }",
    );
    let (forward, reverse) = sweeps(&out, "outer");
    assert_eq!(
        forward.matches("__neuron_call_inner").count(),
        2,
        "{forward}"
    );
    assert!(!forward.contains("__neuron_reverse_inner"), "{forward}");
    assert!(!reverse.contains("__neuron_call_inner"), "{reverse}");
    assert!(
        !reverse.contains(" inner ("),
        "no plain call either: {reverse}"
    );
    assert_eq!(
        reverse.matches("__neuron_reverse_inner").count(),
        2,
        "{reverse}"
    );
}

#[test]
fn a_call_whose_value_needs_no_gradient_is_a_plain_call() {
    let out = expand("fn f(x: f64, #[no_grad] c: f64) -> f64 { x * g(c) }");
    let (_, _) = sweeps(&out, "f");
    // `g(c)` is active in the callers' sweep (`c` is differentiable there),
    // so look at the sweep of `f_backward`, which leaves `c` out.
    let own = &out[out.find("fn __neuron_backward_f").expect("own sweep")..];
    assert!(own.contains("g (c)"), "{own}");
    assert!(!own.contains("__neuron_call_g"), "{own}");
}

#[test]
fn a_self_call_boxes_its_pullback() {
    let out = expand("fn p(x: f64, n: i32) -> f64 { if n == 0 { 1.0 } else { x * p(x, n - 1) } }");
    let (forward, _) = sweeps(&out, "p");
    assert!(forward.contains("Box < dyn FnOnce"), "{forward}");
}

#[test]
fn a_call_tells_the_callee_which_arguments_have_a_gradient() {
    let out = expand("fn f(#[no_grad] x: &[f64], w: f64) -> f64 { g(x, w) + g(x, 2.0) }");
    // The callers' sweep differentiates x too; `2.0` has no gradient.
    let (forward, _) = sweeps(&out, "f");
    assert!(
        forward.contains("__neuron_call_g ([true , true] , x , w)"),
        "{forward}"
    );
    assert!(
        forward.contains("__neuron_call_g ([true , false] , x , 2.0)"),
        "{forward}"
    );
    // f_backward's own sweep leaves x out: data for g.
    let own = &out[out.find("fn __neuron_backward_f").expect("own sweep")..];
    assert!(
        own.contains("__neuron_call_g ([false , true] , x , w)"),
        "{own}"
    );
    // f itself takes its own sweep when every #[no_grad] argument is data.
    let call = &out[out.find("fn __neuron_call_f").expect("callers' entry")..];
    assert!(call.contains("if ! active [0usize] {"), "{call}");
    assert!(call.contains("Pullback :: Own"), "{call}");
}

#[test]
fn without_no_grad_parameters_there_is_one_pullback() {
    let out = expand("fn f(x: f64, w: f64) -> f64 { x * w }");
    let call = &out[out.find("fn __neuron_call_f").expect("callers' entry")..];
    assert!(!out.contains("Pullback"), "{out}");
    assert!(!out.contains("fn __neuron_backward_f"), "{out}");
    assert!(
        call.contains("let _ = active ; __neuron_forward_f (x , w)"),
        "{call}"
    );
}

#[test]
fn a_calls_gradient_that_comes_first_is_the_adjoint() {
    // The reverse sweep meets the call first: both gradients come from it.
    let out = expand("fn f(x: &[f64], w: &[f64]) -> f64 { g(x, w) * 2.0 }");
    let (_, reverse) = sweeps(&out, "f");
    assert!(reverse.contains("let (mut d_x , mut d_w) = {"), "{reverse}");
    assert!(!reverse.contains("zeros_like"), "{reverse}");
    // A contribution the reverse sweep meets later is added to it.
    let out = expand("fn f(x: &[f64], w: f64) -> f64 { x[0] * w + g(x, w) }");
    let (_, reverse) = sweeps(&out, "f");
    let declared = reverse
        .find("let mut d_x = {")
        .expect("declared by the call");
    let added = reverse.find("d_x [0] +=").expect("then added to");
    assert!(declared < added, "{reverse}");
    assert!(!reverse.contains("zeros_like"), "{reverse}");
    // Inside a loop, every iteration's call adds to one zeroed adjoint.
    let out = expand(
        "fn f(x: &[f64], n: usize) -> f64 { let mut s = 0.0; for _ in 0..n { s += g(x, s); } s }",
    );
    let (_, reverse) = sweeps(&out, "f");
    assert!(reverse.contains("zeros_like (x)"), "{reverse}");
}
