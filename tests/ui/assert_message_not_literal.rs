use neuron::differentiate;

const MESSAGE: &str = "x must be positive";

#[differentiate]
fn f(x: f64) -> f64 {
    assert!(x > 0.0, MESSAGE);
    x.sqrt()
}

fn main() {
    let _ = f(1.0);
}
