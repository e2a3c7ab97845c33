use neuron::differentiate;

fn square(v: f64) -> f64 {
    v * v
}

#[differentiate]
fn f(x: f64) -> f64 {
    square(x) + x
}

fn main() {
    let _ = f(1.0);
}
