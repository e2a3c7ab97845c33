use neuron::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let t = (x, 2.0 * x);
    t.0 * t.1
}

fn main() {
    let _ = f(1.0);
}
