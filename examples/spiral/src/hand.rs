//! Hand-written reverse pass of [`loss`](crate::loss), the reference the
//! tests hold the gradient `#[neuron::differentiate]` generates to.
//!
//! It is the book's: the gradient of the mean softmax cross-entropy with
//! respect to the logits is `(softmax(z) - onehot(target)) / n`, followed by
//! the dense layers' and ReLU's backward passes. (The macro also follows the
//! path through the subtracted maximum, which is zero in exact arithmetic, so
//! the two agree to rounding.)

#![allow(clippy::needless_range_loop)]

use crate::Gradients;
use neuron::{derivative, relu};

/// Gradient of [`loss`](crate::loss) scaled by `d_output`: the signature and
/// result `#[differentiate]` gives `loss_backward`.
pub fn loss_backward_hand(
    x: &[[f64; 2]],
    targets: &[usize],
    w1: &[[f64; 64]; 2],
    b1: &[f64; 64],
    w2: &[[f64; 3]; 64],
    b2: &[f64; 3],
    d_output: f64,
) -> Gradients {
    loss_value_and_backward_hand(x, targets, w1, b1, w2, b2, d_output).1
}

/// [`loss`](crate::loss) and its gradient in one pass: what
/// `#[differentiate]` gives `loss_value_and_backward`.
pub fn loss_value_and_backward_hand(
    x: &[[f64; 2]],
    targets: &[usize],
    w1: &[[f64; 64]; 2],
    b1: &[f64; 64],
    w2: &[[f64; 3]; 64],
    b2: &[f64; 3],
    d_output: f64,
) -> (f64, Gradients) {
    let n = x.len();
    let mut d_x = vec![[0.0; 2]; n];
    let mut d_w1 = [[0.0; 64]; 2];
    let mut d_b1 = [0.0; 64];
    let mut d_w2 = [[0.0; 3]; 64];
    let mut d_b2 = [0.0; 3];

    // `total / n`: every sample's term gets the same adjoint.
    let d_total = d_output / n as f64;
    let mut total = 0.0;
    for i in 0..n {
        // Forward, keeping what the reverse sweep reads.
        let mut pre = [0.0; 64];
        let mut h = [0.0; 64];
        for j in 0..64 {
            pre[j] = x[i][0] * w1[0][j] + x[i][1] * w1[1][j] + b1[j];
            h[j] = relu(pre[j]);
        }
        let mut z = [0.0; 3];
        for k in 0..3 {
            let mut acc = b2[k];
            for j in 0..64 {
                acc += h[j] * w2[j][k];
            }
            z[k] = acc;
        }
        let m = z[0].max(z[1]).max(z[2]);
        let mut e = [0.0; 3];
        let mut sum = 0.0;
        for k in 0..3 {
            e[k] = (z[k] - m).exp();
            sum += e[k];
        }
        let t = targets[i];
        total += sum.ln() + m - z[t];

        // Reverse: d total / d z = softmax(z) - onehot(t).
        let mut d_z = [0.0; 3];
        for k in 0..3 {
            d_z[k] = d_total * e[k] / sum;
        }
        d_z[t] -= d_total;
        // z[k] = b2[k] + Σ_j h[j] w2[j][k]
        let mut d_h = [0.0; 64];
        for k in 0..3 {
            d_b2[k] += d_z[k];
            for j in 0..64 {
                d_w2[j][k] += d_z[k] * h[j];
                d_h[j] += d_z[k] * w2[j][k];
            }
        }
        // h[j] = relu(x[i][0] w1[0][j] + x[i][1] w1[1][j] + b1[j])
        for j in 0..64 {
            let d_pre = d_h[j] * derivative::relu(pre[j]);
            d_b1[j] += d_pre;
            d_w1[0][j] += d_pre * x[i][0];
            d_w1[1][j] += d_pre * x[i][1];
            d_x[i][0] += d_pre * w1[0][j];
            d_x[i][1] += d_pre * w1[1][j];
        }
    }
    (total / n as f64, (d_x, d_w1, d_b1, d_w2, d_b2))
}
