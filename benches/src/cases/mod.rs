//! The five benchmark cases, and a call with data (`layer_call`).

pub mod dense;
pub mod layer_call;
pub mod network;
pub mod rnn;
pub mod rosenbrock;
pub mod seed_neuron;

/// Test helper: `a` and `b` agree to `tol` relative to the largest entry of
/// `b` (or absolutely, below 1).
#[cfg(test)]
pub(crate) fn assert_close(what: &str, a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    let scale = b.iter().fold(1.0_f64, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * scale,
            "{what}[{i}]: {x} vs {y} (|diff| {} > {tol} * {scale})",
            (x - y).abs()
        );
    }
}
