use neuron::differentiate;

#[differentiate(skip_inactive = true)]
fn f(x: f64, y: f64) -> f64 {
    neuron::relu(x * y)
}

fn main() {
    let _ = f(1.0, 2.0);
}
