use neuron::differentiate;

#[differentiate]
fn f(#[no_grad] x: f64, #[no_grad] y: f64) -> f64 {
    x * y
}

fn main() {
    let _ = f(1.0, 2.0);
}
