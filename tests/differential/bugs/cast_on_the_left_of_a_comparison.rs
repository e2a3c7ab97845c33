// Bug: `(n as f64) < x` is re-emitted without its parentheses, and
// `n as f64 < x` parses `f64<` as generic arguments: "expected one of ...,
// found `;`" / "`<` is interpreted as a start of generic arguments".
#[neuron::differentiate]
fn cast_cmp(x: f64, n: usize) -> f64 {
    if (n as f64) < x {
        return x;
    }
    x * 2.0
}

fn main() {
    assert_eq!(cast_cmp_backward(3.0, 2, 1.0), 1.0);
    assert_eq!(cast_cmp_backward(1.0, 2, 1.0), 2.0);
}
