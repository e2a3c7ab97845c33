use neuron::differentiate;

struct Point {
    x: f64,
}

#[differentiate]
fn f(w: f64, p: Point) -> f64 {
    w * p.x
}

fn main() {
    let _ = f(1.0, Point { x: 2.0 });
}
