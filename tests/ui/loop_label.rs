use neuron::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let mut y = x;
    'rows: for _ in 0..2 {
        for _ in 0..2 {
            y = y * x;
            if y > 10.0 {
                break 'rows;
            }
        }
    }
    y
}

fn main() {
    let _ = f(1.0);
}
