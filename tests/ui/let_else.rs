use neuron::differentiate;

#[differentiate]
fn f(x: f64, xs: &[f64]) -> f64 {
    let [a, ..] = xs else { return x };
    x * a
}

fn main() {
    let _ = f(1.0, &[2.0]);
}
