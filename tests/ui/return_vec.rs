use neuron::differentiate;

#[differentiate]
fn f(xs: Vec<f64>) -> Vec<f64> {
    xs
}

fn main() {
    let _ = f(vec![1.0]);
}
