use neuron::differentiate;

#[differentiate]
fn f(x: f64, n: u32) -> f64 {
    let mut y = x;
    let mut k = n;
    while let 1.. = k {
        y = y * x;
        k -= 1;
    }
    y
}

fn main() {
    let _ = f(1.0, 2);
}
