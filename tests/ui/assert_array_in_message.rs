use neuron::differentiate;

#[differentiate]
fn f(x: [f64; 2]) -> f64 {
    assert!(x[0] > 0.0, "x = {x:?}");
    x[0].sqrt() + x[1]
}

fn main() {
    let _ = f([1.0, 2.0]);
}
