//! Hand-written reverse pass of [`loss`](crate::loss), the reference for the
//! gradients `#[neuron::differentiate]` will generate.
//!
//! It differentiates exactly what `loss` computes, in the same order and with
//! the conventions of `neuron::derivative` (relu' = 0 at 0, ties of `max`/`min`
//! go to the second argument), including the path through the subtracted
//! maximum of the softmax (zero in exact arithmetic) and the clipping (zero
//! gradient where a probability is clipped). So the macro's gradient should
//! agree with it to rounding.

#![allow(clippy::needless_range_loop)]

use crate::Gradients;
use neuron::derivative::{max_first, min_first};
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
        let m01 = z[0].max(z[1]);
        let m = m01.max(z[2]);
        let mut e = [0.0; 3];
        let mut sum = 0.0;
        for k in 0..3 {
            e[k] = (z[k] - m).exp();
            sum += e[k];
        }
        let t = targets[i];
        let q = e[t] / sum;
        let q_low = q.max(1e-7);
        let p = q_low.min(1.0 - 1e-7);
        total += -p.ln();

        // Reverse: total += -ln p.
        let d_p = -d_total / p;
        let d_q = d_p * min_first(q_low, 1.0 - 1e-7) * max_first(q, 1e-7);
        // q = e[t] / sum
        let mut d_e = [0.0; 3];
        d_e[t] += d_q / sum;
        let d_sum = -d_q * e[t] / (sum * sum);
        // e[k] = exp(z[k] - m), sum += e[k]
        let mut d_z = [0.0; 3];
        let mut d_m = 0.0;
        for k in 0..3 {
            let d_ek = d_e[k] + d_sum;
            let d_arg = d_ek * e[k];
            d_z[k] += d_arg;
            d_m -= d_arg;
        }
        // m = z[0].max(z[1]).max(z[2])
        let d_m01 = d_m * max_first(m01, z[2]);
        d_z[2] += d_m * (1.0 - max_first(m01, z[2]));
        d_z[0] += d_m01 * max_first(z[0], z[1]);
        d_z[1] += d_m01 * (1.0 - max_first(z[0], z[1]));
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
