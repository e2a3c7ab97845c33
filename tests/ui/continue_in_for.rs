use neuron::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let mut y = x;
    for i in 0..4 {
        if i == 2 {
            continue;
        }
        y = y * x;
    }
    y
}

fn main() {
    let _ = f(1.0);
}
