use neuron::differentiate;

#[differentiate]
fn f(x: f64) -> i32 {
    x as i32
}

fn main() {
    let _ = f(1.0);
}
