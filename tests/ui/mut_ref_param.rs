use neuron::differentiate;

#[differentiate]
fn f(x: f64, out: &mut [f64]) -> f64 {
    out[0] * x
}

fn main() {
    let _ = f(1.0, &mut [2.0]);
}
