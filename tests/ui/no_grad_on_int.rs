use neuron::differentiate;

#[differentiate]
fn f(x: f64, #[no_grad] n: i32) -> f64 {
    x.powi(n)
}

fn main() {
    let _ = f(1.0, 2);
}
