use neuron::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let mut y = x;
    while y > 1.0 {
        y = y * 0.5;
        if y < 2.0 {
            break;
        }
    }
    y
}

fn main() {
    let _ = f(1.0);
}
