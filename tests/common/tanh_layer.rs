// A layer of `tanh` units whose sizes are its arguments',
// `sum_i tanh(sum_j w[i n + j] x[j])`, with `x` `#[no_grad]`, and two losses
// that square a call to it: one passing data as `x`, one an activation.
// Included by tests/no_grad_calls.rs (gradients against num-dual) and by
// tests/allocations.rs (what the calls allocate).

#[differentiate]
fn tanh_layer(#[no_grad] x: &[f64], w: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        let mut z = 0.0;
        for j in 0..n {
            z += w[i * n + j] * x[j];
        }
        s += z.tanh();
    }
    s
}

/// Data into the layer's `#[no_grad]` parameter: the layer's own sweep.
#[differentiate]
fn data_loss(#[no_grad] x: &[f64], w: &[f64]) -> f64 {
    let a = tanh_layer(x, w);
    a * a
}

/// An activation into it: the sweep with every gradient.
#[differentiate]
fn activation_loss(x: &[f64], w: &[f64]) -> f64 {
    let a = tanh_layer(x, w);
    a * a
}
