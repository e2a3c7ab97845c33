//! ReLU gates (`jam::gate`): when a ReLU layer's loop is jammed with the
//! next loop, the next loop's sum into the unit's adjoint is generated
//! inside the ReLU's branch, so a unit that is off skips it. Read off the
//! generated code; the gradients of the same shapes are checked against
//! num-dual and finite differences in `tests/relu_layers.rs`.

mod common;

use common::{expand, sweeps};

/// The reverse sweep of `f` in `src`, without spaces.
fn reverse(src: &str) -> String {
    let (_, rev) = sweeps(&expand(src), "f");
    rev.replace(' ', "")
}

/// The sum into `d_h`'s scalar, opened inside the ReLU's branch.
const GATED: &str = ">0.0{{letmutd_h_j=-0.0;";

#[test]
fn the_next_layers_sum_runs_inside_the_gate() {
    // The network's shape: a hidden layer, then logits accumulated from it.
    let rev = reverse(
        "fn f(w: &[f64], v: &[f64], x: f64) -> f64 {
            let mut h = [0.0; 4];
            for j in 0..4 { h[j] = relu(w[j] * x + 0.1); }
            let mut z = [x, x * x];
            for j in 0..4 { for k in 0..2 { z[k] += h[j] * v[j * 2 + k]; } }
            z[0].sin() + z[1] * z[0]
        }",
    );
    let gate = rev.find(GATED).unwrap_or_else(|| panic!("no gate: {rev}"));
    // Every addition to the unit's adjoint is inside the gate.
    let first_sum = rev.find("d_h_j+=").expect("the sum is generated");
    assert!(first_sum > gate, "{rev}");
    // The next layer's weight gradient stays outside it, once.
    assert_eq!(rev.matches("d_v_row[k]=").count(), 1, "{rev}");
    assert!(rev.find("d_v_row[k]=").unwrap() < gate, "{rev}");
}

#[test]
fn a_relu_written_as_max_against_zero_gates_the_sum_too() {
    // `relu_layers.rs`'s `max0`: `(…).max(0.0)`'s partial in its argument
    // is the same gate (`max_takes_first(t, 0.0)`), so the sum into the
    // unit's adjoint runs inside it.
    let rev = reverse(
        "fn f(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
            let mut h = [0.0; 4];
            for j in 0..4 { h[j] = (w[j] * x - 0.1).max(0.0); }
            let mut s = 0.0;
            for j in 0..4 { s += h[j] * v[j]; }
            s.exp()
        }",
    );
    let gate = rev
        .find("max_takes_first(t_2,0.0_f64){{letmutd_h_j=-0.0;")
        .unwrap_or_else(|| panic!("no gate: {rev}"));
    let sum = rev.find("d_h_j+=").expect("the sum is generated");
    assert!(sum > gate, "{rev}");
}

/// Jammed ReLU layers whose next loop cannot be split, and why: each
/// keeps the sum in the jammed loop, before the ReLU's reverse.
const UNGATED: &[(&str, &str)] = &[
    (
        "the next loop's values come off a tape, which a second copy would pop again",
        "fn f(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
            let mut h = [0.0; 4];
            for j in 0..4 { h[j] = relu(w[j] * x - 0.1); }
            let mut s = 0.0;
            for j in 0..4 { if v[j] > 0.0 { s += h[j] * v[j]; } else { s += (h[j] * x).sin(); } }
            s * x
        }",
    ),
    (
        "the next loop stores what it computes, so its reverse writes an adjoint it reads",
        "fn f(w: [f64; 4], v: [f64; 4], x: f64) -> f64 {
            let mut h = [0.0; 4];
            for j in 0..4 { h[j] = relu(w[j] * x + 0.2); }
            let mut g = [0.0; 4];
            for j in 0..4 { g[j] = h[j] * v[j] + x; }
            g[0] * g[1] + g[2].cos() * g[3]
        }",
    ),
];

#[test]
fn other_jams_keep_the_sum_in_the_loop() {
    for (why, src) in UNGATED {
        let rev = reverse(src);
        assert!(!rev.contains(GATED), "{why}: {rev}");
        // Still jammed (the unit's adjoint a scalar of the one loop, with
        // the name the tried split had given it), and the gate reads the sum.
        assert!(rev.contains("letmutd_h_j=-0.0;"), "{why}: jammed? {rev}");
        assert!(!rev.contains("d_h_j_1"), "{why}: {rev}");
        assert!(rev.contains(">0.0{d_t_"), "{why}: {rev}");
    }
}
