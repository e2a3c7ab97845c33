use neuron::differentiate;

// Stands in for a function of the `neuron_core` crate that is not an activation.
mod neuron_core {
    pub fn swish(x: f64) -> f64 {
        x
    }
}

#[differentiate]
fn f(x: f64) -> f64 {
    neuron_core::swish(x)
}

fn main() {
    let _ = f(1.0);
}
