use neuron::differentiate;

macro_rules! square {
    ($e:expr) => {
        $e * $e
    };
}

#[differentiate]
fn f(x: f64) -> f64 {
    square!(x) + 1.0
}

fn main() {
    let _ = f(1.0);
}
