use neuron::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    x.to_degrees() * x
}

fn main() {
    let _ = f(1.0);
}
