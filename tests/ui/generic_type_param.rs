use neuron::differentiate;

#[differentiate]
fn f<T: Default>(x: f64) -> f64 {
    x * x
}

fn main() {
    let _ = f::<u8>(1.0);
}
