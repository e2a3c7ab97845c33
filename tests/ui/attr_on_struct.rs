use neuron::differentiate;

#[differentiate]
struct Neuron {
    w: f64,
}

fn main() {
    let _ = Neuron { w: 1.0 }.w;
}
