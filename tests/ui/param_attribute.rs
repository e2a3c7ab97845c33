use neuron::differentiate;

#[differentiate]
fn f(#[allow(unused)] x: f64) -> f64 {
    2.0
}

fn main() {
    let _ = f(1.0);
}
