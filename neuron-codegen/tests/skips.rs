//! `#[differentiate(skip_inactive)]` (`skip`): the reverse of what computes
//! a ReLU's argument runs inside `if a > 0.0 { … }`. Read off the generated
//! code; the gradients of the same shapes are checked against num-dual,
//! finite differences and the default code in `tests/skip_inactive.rs`.

mod common;

use common::{expand_with, sweeps};

/// The reverse sweep of `f` in `src` with the attribute's arguments `attr`,
/// without spaces.
fn reverse(attr: &str, src: &str) -> String {
    let (_, rev) = sweeps(&expand_with(attr, src), "f");
    rev.replace(' ', "")
}

/// The benchmark's dense layer, in small.
const DENSE: &str = "fn f(x: &[f64], w: &[f64], b: &[f64]) -> [f64; 4] {
    let mut y = [0.0; 4];
    for i in 0..4 {
        let mut z = b[i];
        for j in 0..4 { z += w[i * 4 + j] * x[j]; }
        y[i] = relu(z);
    }
    y
}";

#[test]
fn a_dense_rows_reverse_runs_inside_the_gate() {
    let rev = reverse("skip_inactive", DENSE);
    let gate = rev
        .find("ifz>0.0{")
        .unwrap_or_else(|| panic!("no gate: {rev}"));
    // The row's adjoint is the output's, unconditionally, inside the gate.
    assert!(rev[gate..].starts_with("ifz>0.0{letmutd_z=d_t"), "{rev}");
    assert_eq!(rev.matches(">0.0").count(), 1, "{rev}");
    // The row's reverse and the bias's gradient are in it.
    for add in ["d_x_row[j]+=", "d_w_row[j]=", "d_b"] {
        let at = rev.rfind(add).unwrap_or_else(|| panic!("no {add}: {rev}"));
        assert!(at > gate, "{add} before the gate: {rev}");
    }
}

#[test]
fn a_relu_written_as_max_against_zero_is_gated_too() {
    let rev = reverse("skip_inactive", &DENSE.replace("relu(z)", "z.max(0.0)"));
    let on = "if::neuron::__private::derivative::max_takes_first(z,0.0_f64){letmutd_z=d_t";
    let gate = rev.find(on).unwrap_or_else(|| panic!("no gate: {rev}"));
    for add in ["d_x_row[j]+=", "d_w_row[j]=", "d_b"] {
        let at = rev.rfind(add).unwrap_or_else(|| panic!("no {add}: {rev}"));
        assert!(at > gate, "{add} before the gate: {rev}");
    }
    // Against a value that carries a gradient, the adjoint is not zero where
    // the gate is shut: nothing is skipped.
    let src = DENSE.replace("relu(z)", "z.max(x[0])");
    let rev = reverse("skip_inactive", &src);
    assert!(!rev.contains("){letmutd_z"), "{rev}");
}

#[test]
fn without_the_option_the_zero_is_propagated() {
    let rev = reverse("", DENSE);
    assert!(rev.contains("(ifz>0.0{d_t"), "{rev}");
    assert!(!rev.contains("ifz>0.0{letmutd_z"), "{rev}");
}

/// The network's shape: a hidden layer, then logits accumulated from it,
/// with `extra` added to each logit in the second loop.
fn hidden(extra: &str) -> String {
    format!(
        "fn f(w: &[f64], v: &[f64], x: f64) -> f64 {{
            let mut h = [0.0; 4];
            for j in 0..4 {{ h[j] = relu(w[j] * x + 0.1); }}
            let mut z = [x, x * x];
            for j in 0..4 {{ for k in 0..2 {{ z[k] += h[j] * v[j * 2 + k]{extra}; }} }}
            z[0].sin() + z[1] * z[0]
        }}"
    )
}

#[test]
fn the_next_layers_weight_gradient_runs_inside_the_gate_too() {
    // `d_v[j][k] += d_z[k] * h[j]` is zero when unit j is off.
    let rev = reverse("skip_inactive", &hidden(""));
    let gate = rev
        .find(">0.0{")
        .unwrap_or_else(|| panic!("no gate: {rev}"));
    assert_eq!(rev.matches(">0.0").count(), 1, "{rev}");
    for add in ["d_v_row[k]=", "d_h_j+=", "d_w_row[j]="] {
        let at = rev.find(add).unwrap_or_else(|| panic!("no {add}: {rev}"));
        assert!(at > gate, "{add} before the gate: {rev}");
    }
}

#[test]
fn a_next_loop_adding_more_than_multiples_of_the_unit_stays_outside() {
    // `d_x += d_z[k] * 0.01` flows whatever the unit is.
    let rev = reverse("skip_inactive", &hidden(" + x * 0.01"));
    let gate = rev
        .find(">0.0{")
        .unwrap_or_else(|| panic!("no gate: {rev}"));
    let weights = rev.find("d_v_row[k]").expect("the weight gradient");
    assert!(weights < gate, "{rev}");
    // The first loop's reverse is still gated.
    assert!(
        rev.find("d_w_row[j]=").expect("the first layer") > gate,
        "{rev}"
    );
}

/// A ReLU after an inner loop whose values are saved, up to a bound that
/// changes from one iteration to the next.
const TRIANGLE: &str = "fn f(w: [f64; 4], x: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..4 {
        let mut z = -0.25;
        for j in 0..i + 1 { z += (w[j] * x).sin() * w[i]; }
        s += relu(z);
    }
    s
}";

#[test]
fn an_inner_loop_of_the_fused_loop_reads_its_tape_at_its_variable_and_is_gated() {
    // In `f_backward`, the loop's reverse runs after each iteration's
    // forward sweep, so the inner loop's tape holds that iteration's values
    // alone: read at `j`, with no counter whose pops skipping would miss.
    // The pullback a caller gets keeps the counter, and its reverse is the
    // default's (`what_is_not_gated`).
    let out = expand_with("skip_inactive", TRIANGLE).replace(' ', "");
    let fused = &out[out.find("fn__neuron_fused_f").expect("a fused loop")..];
    let gate = fused.find("ifz>0.0{").unwrap_or_else(|| panic!("{fused}"));
    assert!(fused[gate..].contains("tape_t_3[jasusize]"), "{fused}");
    assert!(!fused.contains("tape_len"), "{fused}");
}

/// Loop bodies with a ReLU whose argument's reverse is not gated, and why.
const UNGATED: &[(&str, &str)] = &[
    (
        "the pre-activation is read again after the ReLU",
        "fn f(w: [f64; 4], x: f64) -> f64 {
            let mut s = 0.0;
            for i in 0..4 { let z = w[i] * x; s += relu(z) + 0.1 * z; }
            s
        }",
    ),
    (
        "a loop in the sum pops a tape with a counter (see below for the fused loop)",
        TRIANGLE,
    ),
    (
        "the sum stores into an array the function reads after it",
        "fn f(w: [f64; 4], x: f64) -> f64 {
            let mut g = [0.0; 4];
            let mut s = 0.0;
            for i in 0..4 { g[i] = w[i] * x; s += relu(g[i] - 0.1); }
            s + g[0] * g[1]
        }",
    ),
    (
        "the sum calls a branch",
        "fn f(w: [f64; 4], x: f64) -> f64 {
            let mut s = 0.0;
            for i in 0..4 {
                let mut z = w[i];
                if x > 0.0 { z = z * x; }
                s += relu(z);
            }
            s
        }",
    ),
];

#[test]
fn what_is_not_gated() {
    for (why, src) in UNGATED {
        let rev = reverse("skip_inactive", src);
        assert!(!rev.contains(">0.0{letmut"), "{why}: {rev}");
        assert_eq!(rev, reverse("", src), "{why}: the default code");
    }
}
