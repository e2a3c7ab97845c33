use neuron::differentiate;

#[differentiate]
fn f(x: f64, name: String) -> f64 {
    let _ = name;
    x * x
}

fn main() {
    let _ = f(1.0, String::new());
}
