// Bug: a call nested in another call's arguments inside an early `return`
// fails: error[E0425]: cannot find value `g_1` in this scope.
#[neuron::differentiate]
fn g(a: f64) -> f64 {
    a * a
}

#[neuron::differentiate]
fn k(a: f64, b: f64) -> f64 {
    a * b
}

#[neuron::differentiate]
fn nested(x: f64) -> f64 {
    if x > 0.5 {
        return k(g(x), x);
    }
    x
}

fn main() {
    // d/dx x^3 = 3 x^2 = 3 at x = 1.
    assert_eq!(nested_backward(1.0, 1.0), 3.0);
    assert_eq!(nested_backward(0.25, 1.0), 1.0);
}
