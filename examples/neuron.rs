use neuron::{differentiate, relu};

#[differentiate]
fn neuron(x: [f64; 3], w: [f64; 3], b: f64) -> f64 {
    relu(x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + b)
}

fn main() {
    let (x, w, b) = ([1.0, -2.0, 3.0], [-3.0, -1.0, 2.0], 1.0);
    let (dx, dw, db) = neuron_backward(x, w, b, 1.0);
    println!("{} {:?} {:?} {}", neuron(x, w, b), dx, dw, db);
}
