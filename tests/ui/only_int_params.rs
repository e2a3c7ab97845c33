use neuron::differentiate;

#[differentiate]
fn f(n: i32, flag: bool) -> f64 {
    if flag {
        n as f64
    } else {
        0.0
    }
}

fn main() {
    let _ = f(1, true);
}
