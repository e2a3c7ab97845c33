use neuron::differentiate;

#[differentiate]
fn f(x: f64) {
    let _ = x * x;
}

fn main() {
    f(1.0);
}
