// Bug: a chain of two or more float operations whose result only feeds a
// comparison (or an operation with a zero derivative, like `signum`, or
// nothing at all) makes the backward pass name an adjoint it never declared:
// error[E0425]: cannot find value `d_t` in this scope.
#[neuron::differentiate]
fn compared(x: f64) -> f64 {
    if x.sin() * 0.9 > 0.5 {
        return x;
    }
    x * 3.0
}

#[neuron::differentiate]
fn into_signum(x: f64) -> f64 {
    let s = (x.sin() * 2.0).signum();
    x * s
}

#[neuron::differentiate]
fn mutable_compared(x: f64) -> f64 {
    let mut t = x;
    if t * 2.0 > 1.0 {
        t += x;
    }
    t
}

#[neuron::differentiate]
fn if_expression_compared(x: f64) -> f64 {
    if (if x > 1.0 { 1.0 } else { x }).sin() < 0.5 {
        return x;
    }
    x * 2.0
}

fn main() {
    assert_eq!(compared_backward(1.5, 1.0), 1.0);
    assert_eq!(compared_backward(0.1, 1.0), 3.0);
    assert_eq!(into_signum_backward(1.0, 1.0), 1.0);
    assert_eq!(mutable_compared_backward(1.0, 1.0), 2.0);
    assert_eq!(mutable_compared_backward(0.25, 1.0), 1.0);
    assert_eq!(if_expression_compared_backward(0.25, 1.0), 1.0);
    assert_eq!(if_expression_compared_backward(0.75, 1.0), 2.0);
}
