// Two differentiated functions that call each other: each one's pullback
// type would contain the other's. Not supported; a function calling itself
// by name is.
use neuron::differentiate;

#[differentiate]
fn even(x: f64, n: i32) -> f64 {
    if n <= 0 {
        x
    } else {
        odd(x, n - 1).sin()
    }
}

#[differentiate]
fn odd(x: f64, n: i32) -> f64 {
    if n <= 0 {
        x
    } else {
        even(x, n - 1) * 2.0
    }
}

fn main() {
    let _ = even_backward(0.3, 4, 1.0);
}
