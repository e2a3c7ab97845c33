use neuron::differentiate;

#[differentiate]
fn f([a, b]: [f64; 2]) -> f64 {
    a * b
}

fn main() {
    let _ = f([1.0, 2.0]);
}
