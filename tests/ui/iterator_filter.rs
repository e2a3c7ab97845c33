use neuron::differentiate;

#[differentiate]
fn f(xs: &[f64]) -> f64 {
    xs.iter().filter(|v| **v > 0.0).sum()
}

fn main() {
    let _ = f(&[1.0, -2.0]);
}
