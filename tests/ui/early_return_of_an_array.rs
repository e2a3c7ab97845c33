use neuron::differentiate;

#[differentiate]
fn early_array(x: f64) -> [f64; 2] {
    if x > 0.0 {
        return [x, x * 2.0];
    }
    [x * 3.0, x]
}

fn main() {
    let _ = early_array(1.0);
}
