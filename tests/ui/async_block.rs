use neuron::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let fut = async { 1.0 };
    drop(fut);
    x * x
}

fn main() {
    let _ = f(1.0);
}
