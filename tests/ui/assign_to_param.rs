use neuron::differentiate;

#[differentiate]
fn f(mut xs: [f64; 2]) -> f64 {
    xs[0] = xs[0] * 2.0;
    xs[0] + xs[1]
}

fn main() {
    let _ = f([1.0, 2.0]);
}
