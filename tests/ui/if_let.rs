use neuron::differentiate;

#[differentiate]
fn f(x: f64, xs: &[f64]) -> f64 {
    if let Some(v) = xs.first() {
        x * v
    } else {
        x
    }
}

fn main() {
    let _ = f(1.0, &[2.0]);
}
