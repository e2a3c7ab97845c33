use neuron::differentiate;

#[differentiate]
fn f(xs: [f64; 2]) -> f64 {
    let [a, b] = xs;
    a * b
}

fn main() {
    let _ = f([1.0, 2.0]);
}
