use neuron::differentiate;

#[differentiate]
fn f(xs: [f64; 2]) -> f64 {
    let mut y = [0.0; 2];
    let s = y[0];
    y = xs;
    y[0] * y[1] + s
}

fn main() {
    let _ = f([1.0, 2.0]);
}
