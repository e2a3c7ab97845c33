use neuron::differentiate;

#[differentiate]
const RATE: f64 = 0.1;

fn main() {
    let _ = RATE;
}
