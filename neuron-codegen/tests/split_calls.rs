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
    // The callers' sweep differentiates x too; `2.0` has no gradient. Bit
    // `k` of the mask is argument `k`.
    let active = |mask: &str| format!(":: neuron :: __private :: Active :: < {mask}u64 >");
    let (forward, _) = sweeps(&out, "f");
    let both = format!("__neuron_call_g ({} , x , w)", active("3"));
    assert!(forward.contains(&both), "{forward}");
    let first = format!("__neuron_call_g ({} , x , 2.0)", active("1"));
    assert!(forward.contains(&first), "{forward}");
    // f_backward's own sweep leaves x out: data for g.
    let own = &out[out.find("fn __neuron_backward_f").expect("own sweep")..];
    let second = format!("__neuron_call_g ({} , x , w)", active("2"));
    assert!(own.contains(&second), "{own}");
    // f itself takes its own sweep when every #[no_grad] argument is data.
    let call = &out[out.find("fn __neuron_call_f").expect("callers' entry")..];
    assert!(
        call.contains("if ! :: neuron :: __private :: Active :: < ACTIVE > :: has (0u32) {"),
        "{call}"
    );
    assert!(call.contains("Pullback :: Own"), "{call}");
}

#[test]
fn without_no_grad_parameters_there_is_one_pullback() {
    let out = expand("fn f(x: f64, w: f64) -> f64 { x * w }");
    let call = &out[out.find("fn __neuron_call_f").expect("callers' entry")..];
    assert!(!out.contains("Pullback"), "{out}");
    assert!(!out.contains("fn __neuron_backward_f"), "{out}");
    // With no array parameter, the mask changes nothing: the callers'
    // sweep does not take it (and is not generic).
    assert!(call.contains("__neuron_forward_f (x , w)"), "{call}");
    assert!(out.contains("fn __neuron_forward_f (x"), "{out}");
    let out = expand("fn f(x: &[f64], w: f64) -> f64 { x[0] * w }");
    let call = &out[out.find("fn __neuron_call_f").expect("callers' entry")..];
    let masked = "__neuron_forward_f (:: neuron :: __private :: Active :: < ACTIVE > , x , w)";
    assert!(call.contains(masked), "{call}");
}

/// In the callers' sweep, an addition into an array parameter's gradient
/// runs only if the caller passes that argument with a gradient: bit `k` of
/// the mask, a constant of each instance. Not in `NAME_backward`'s sweeps,
/// which compute every gradient they return.
#[test]
fn additions_into_an_arguments_gradient_depend_on_the_callers_mask() {
    let out = expand(
        "fn f(x: &[f64], w: &[f64]) -> f64 {
            let mut s = 0.0;
            for i in 0..x.len() { s += (x[i] * w[i]).tanh(); }
            s
        }",
    );
    let (_, reverse) = sweeps(&out, "f");
    assert!(
        reverse.starts_with(
            "move | x : & [f64] , w : & [f64] , d_output : f64 | { let active : u64 = ACTIVE ;"
        ),
        "{reverse}"
    );
    assert!(
        reverse.contains("if active & 1u64 != 0 { d_x_row [i] ="),
        "{reverse}"
    );
    assert!(
        reverse.contains("if active & 2u64 != 0 { d_w_row [i] ="),
        "{reverse}"
    );
    let fused = &out[out.find("fn __neuron_fused_f").expect("fused")..];
    assert!(!fused.contains("active"), "{fused}");
    // With no array parameter, nothing depends on it.
    let out = expand("fn f(x: f64, w: f64) -> f64 { x * w }");
    let (_, reverse) = sweeps(&out, "f");
    assert!(!reverse.contains("active"), "{reverse}");
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
