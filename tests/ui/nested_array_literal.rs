use neuron::differentiate;

#[differentiate]
fn f(x: f64) -> [[f64; 2]; 2] {
    [[x, x * x], [1.0, x]]
}

fn main() {
    let _ = f(1.0);
}
