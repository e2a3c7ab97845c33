use neuron::differentiate;

struct Pair {
    a: f64,
}

#[differentiate]
fn f(x: f64) -> f64 {
    let p = Pair { a: x };
    x * x + p.a
}

fn main() {
    let _ = f(1.0);
}
