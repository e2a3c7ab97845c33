use neuron::differentiate;

#[differentiate]
fn f(xs: [f64; 2]) -> f64 {
    let mut y = [1.0; 2];
    y += xs;
    y[0] * y[1]
}

fn main() {
    let _ = f([1.0, 2.0]);
}
