use neuron::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let y;
    y = x * x;
    y
}

fn main() {
    let _ = f(1.0);
}
