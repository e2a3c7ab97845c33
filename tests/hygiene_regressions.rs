//! A body local named `returned` or `result` next to an early `return` from
//! inside a loop: the rewrite of that return into a flag and a result slot
//! once named them the same, before locals were renamed. Regression tests.

use neuron::differentiate;

#[differentiate]
fn local_returned(x: f64) -> f64 {
    let returned = x * 2.0;
    for _ in 0..2 {
        if returned > 1.0 {
            return returned * x;
        }
    }
    returned + x
}

#[differentiate]
fn local_result(x: f64) -> f64 {
    let result = x * 2.0;
    for _ in 0..2 {
        if result > 1.0 {
            return result * x;
        }
    }
    result + x
}

#[test]
fn local_named_returned_next_to_an_early_return_in_a_loop() {
    // 2x <= 1: f = 3x; else f = 2x^2.
    assert_eq!(local_returned_value_and_backward(0.25, 1.0), (0.75, 3.0));
    assert_eq!(local_returned_value_and_backward(1.5, 1.0), (4.5, 6.0));
    assert_eq!(local_returned(1.5), 4.5);
}

#[test]
fn local_named_result_next_to_an_early_return_in_a_loop() {
    assert_eq!(local_result_value_and_backward(0.25, 1.0), (0.75, 3.0));
    assert_eq!(local_result_value_and_backward(1.5, 1.0), (4.5, 6.0));
    assert_eq!(local_result(1.5), 4.5);
}
