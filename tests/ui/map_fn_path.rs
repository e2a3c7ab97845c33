use neuron::differentiate;

#[differentiate]
fn f(xs: &[f64]) -> f64 {
    xs.iter().copied().map(f64::exp).sum()
}

fn main() {
    let _ = f(&[1.0]);
}
