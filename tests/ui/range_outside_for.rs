use neuron::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let r = 0..3;
    let _ = r;
    x * x
}

fn main() {
    let _ = f(1.0);
}
