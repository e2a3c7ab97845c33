use neuron::differentiate;

#[differentiate]
fn sum(x: &[f64]) -> f64 {
    x.iter().sum()
}

#[differentiate]
fn f(x: &[f64]) -> f64 {
    sum(&x[1..3]) * x[0]
}

fn main() {
    let _ = f(&[1.0, 2.0, 3.0]);
}
