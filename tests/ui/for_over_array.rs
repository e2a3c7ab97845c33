use neuron::differentiate;

#[differentiate]
fn f(xs: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for v in xs {
        s += v;
    }
    s
}

fn main() {
    let _ = f([1.0, 2.0, 3.0]);
}
