//! The book's dense layer over a batch, and the combined softmax and
//! cross-entropy gradient, with backward passes from `#[differentiate]`.
//!
//! Run with `cargo run --example layer`.

// The book's formulas index arrays in loops over ranges.
#![allow(clippy::needless_range_loop)]

use neuron::differentiate;

/// A dense layer over a batch of 3 samples with 4 inputs and 3 neurons:
/// `output[s][j] = Σ_k inputs[s][k] · weights[k][j] + biases[j]`.
#[differentiate]
fn dense_layer(inputs: [[f64; 4]; 3], weights: [[f64; 3]; 4], biases: [f64; 3]) -> [[f64; 3]; 3] {
    let mut output = [[0.0; 3]; 3];
    for s in 0..3 {
        for j in 0..3 {
            let mut z = biases[j];
            for k in 0..4 {
                z += inputs[s][k] * weights[k][j];
            }
            output[s][j] = z;
        }
    }
    output
}

/// Mean categorical cross-entropy of the softmax of `logits`, one integer
/// class label per sample.
#[differentiate]
fn softmax_cross_entropy(logits: &[[f64; 3]], targets: &[usize]) -> f64 {
    let mut total = 0.0;
    for s in 0..logits.len() {
        let z = logits[s];
        let m = z[0].max(z[1]).max(z[2]);
        let mut sum = 0.0;
        for j in 0..3 {
            sum += (z[j] - m).exp();
        }
        // -ln softmax(z)[target], as a stable log-sum-exp.
        total += sum.ln() + m - z[targets[s]];
    }
    total / logits.len() as f64
}

fn main() {
    // The book's batch, weights (4 × 3, the transpose of its 3 × 4 listing),
    // biases, and the gradient arriving from the next layer.
    let inputs = [
        [1.0, 2.0, 3.0, 2.5],
        [2.0, 5.0, -1.0, 2.0],
        [-1.5, 2.7, 3.3, -0.8],
    ];
    let by_neuron = [
        [0.2, 0.8, -0.5, 1.0],
        [0.5, -0.91, 0.26, -0.5],
        [-0.26, -0.27, 0.17, 0.87],
    ];
    let weights: [[f64; 3]; 4] = std::array::from_fn(|k| std::array::from_fn(|j| by_neuron[j][k]));
    let biases = [2.0, 3.0, 0.5];
    let dvalues = [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [3.0, 3.0, 3.0]];

    println!("Dense layer, batch of 3: output");
    print_rows(&dense_layer(inputs, weights, biases));
    let (dinputs, dweights, dbiases) = dense_layer_backward(inputs, weights, biases, dvalues);
    println!("\nBackward pass with dvalues = {dvalues:?}");
    println!("dinputs:");
    print_rows(&dinputs);
    println!("dweights:");
    print_rows(&dweights);
    println!("dbiases: {dbiases:?}");

    // Logits whose softmax is the book's softmax output.
    let softmax = [[0.7, 0.1, 0.2], [0.1, 0.5, 0.4], [0.02, 0.9, 0.08]];
    let logits: Vec<[f64; 3]> = softmax.iter().map(|row| row.map(f64::ln)).collect();
    let targets = [0, 1, 1];
    let (loss, dlogits) = softmax_cross_entropy_value_and_backward(&logits, &targets, 1.0);
    println!("\nSoftmax + categorical cross-entropy, targets {targets:?}");
    println!("loss = {loss:.6}");
    println!("gradient with respect to the logits ((softmax - onehot) / 3):");
    print_rows(&dlogits);
}

fn print_rows<const N: usize>(rows: &[[f64; N]]) {
    for row in rows {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:9.5}")).collect();
        println!("  [{}]", cells.join(", "));
    }
}
