use neuron::differentiate;

#[differentiate]
unsafe fn f(x: f64) -> f64 {
    x * x
}

fn main() {
    let _ = unsafe { f(1.0) };
}
