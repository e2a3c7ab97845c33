use neuron::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    x * (x.to_bits() as f64)
}

fn main() {
    let _ = f(1.0);
}
