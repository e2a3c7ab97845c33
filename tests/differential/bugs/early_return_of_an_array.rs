// Bug: an early `return` in a function with an array output is rejected:
// "`array` is an array here, but a scalar is needed: index it" (on the `if`).
#[neuron::differentiate]
fn early_array(x: f64) -> [f64; 2] {
    if x > 0.0 {
        return [x, x * 2.0];
    }
    [x * 3.0, x]
}

fn main() {
    // d/dx (1 * x + 1 * 2x) = 3 for x > 0; (3x + x) -> 4 for x < 0.
    assert_eq!(early_array_backward(1.0, [1.0, 1.0]), 3.0);
    assert_eq!(early_array_backward(-1.0, [1.0, 1.0]), 4.0);
}
