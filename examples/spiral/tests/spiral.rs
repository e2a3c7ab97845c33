//! The spiral classifier's gradient and a short training run.

use neuron_spiral::hand::{loss_backward_hand, loss_value_and_backward_hand};
use neuron_spiral::{loss, value_and_gradient, Gradients, Params, Training};
use rand::{Rng, SeedableRng};

/// A training set-up a few dozen epochs in, so that weights are not all tiny and
/// some hidden units are off.
fn trained_a_little(points_per_class: usize, seed: u64) -> Training {
    let mut t = Training::new(points_per_class, seed);
    for _ in 0..30 {
        t.epoch();
    }
    t
}

fn loss_at(t: &Training, x: &[[f64; 2]], p: &Params) -> f64 {
    loss(x, &t.y, &p.w1, &p.b1, &p.w2, &p.b2)
}

/// Which parameter entry a finite difference perturbs.
#[derive(Clone, Copy, Debug)]
enum Entry {
    X(usize, usize),
    W1(usize, usize),
    B1(usize),
    W2(usize, usize),
    B2(usize),
}

fn entry_mut<'a>(x: &'a mut [[f64; 2]], p: &'a mut Params, e: Entry) -> &'a mut f64 {
    match e {
        Entry::X(i, d) => &mut x[i][d],
        Entry::W1(i, j) => &mut p.w1[i][j],
        Entry::B1(j) => &mut p.b1[j],
        Entry::W2(j, k) => &mut p.w2[j][k],
        Entry::B2(k) => &mut p.b2[k],
    }
}

fn gradient_entry(g: &Gradients, e: Entry) -> f64 {
    match e {
        Entry::X(i, d) => g.0[i][d],
        Entry::W1(i, j) => g.1[i][j],
        Entry::B1(j) => g.2[j],
        Entry::W2(j, k) => g.3[j][k],
        Entry::B2(k) => g.4[k],
    }
}

#[test]
fn hand_written_gradient_matches_central_differences() {
    let t = trained_a_little(20, 7);
    let p = &t.params;
    let g = loss_backward_hand(&t.x, &t.y, &p.w1, &p.b1, &p.w2, &p.b2, 1.0);
    assert_eq!(g.0.len(), t.x.len());

    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut entries = Vec::new();
    for _ in 0..6 {
        entries.push(Entry::X(
            rng.random_range(0..t.x.len()),
            rng.random_range(0..2),
        ));
        entries.push(Entry::W1(rng.random_range(0..2), rng.random_range(0..64)));
        entries.push(Entry::B1(rng.random_range(0..64)));
        entries.push(Entry::W2(rng.random_range(0..64), rng.random_range(0..3)));
        entries.push(Entry::B2(rng.random_range(0..3)));
    }
    let h = 1e-6;
    let mut nonzero = 0;
    for e in entries {
        let (mut x, mut q) = (t.x.clone(), p.clone());
        *entry_mut(&mut x, &mut q, e) += h;
        let up = loss_at(&t, &x, &q);
        *entry_mut(&mut x, &mut q, e) -= 2.0 * h;
        let down = loss_at(&t, &x, &q);
        let numeric = (up - down) / (2.0 * h);
        let analytic = gradient_entry(&g, e);
        let tol = 1e-7 + 1e-5 * numeric.abs();
        assert!(
            (numeric - analytic).abs() <= tol,
            "{e:?}: central difference {numeric:e}, hand-written {analytic:e}"
        );
        if analytic != 0.0 {
            nonzero += 1;
        }
    }
    assert!(
        nonzero >= 20,
        "only {nonzero} of the checked entries have a gradient"
    );
}

#[test]
fn hand_written_backward_scales_with_d_output_and_returns_the_loss() {
    let t = trained_a_little(10, 3);
    let p = &t.params;
    let (value, g1) = loss_value_and_backward_hand(&t.x, &t.y, &p.w1, &p.b1, &p.w2, &p.b2, 1.0);
    assert_eq!(value, loss_at(&t, &t.x, p));
    let g2 = loss_backward_hand(&t.x, &t.y, &p.w1, &p.b1, &p.w2, &p.b2, 2.0);
    assert_eq!(g2.1[1][5], 2.0 * g1.1[1][5]);
    assert_eq!(g2.3[17][2], 2.0 * g1.3[17][2]);
    assert_eq!(g2.0[4], [2.0 * g1.0[4][0], 2.0 * g1.0[4][1]]);
}

/// Largest |a - b| / max(1, |b|) over all entries of two gradients.
fn max_relative_difference(a: &Gradients, b: &Gradients) -> f64 {
    let pairs =
        a.0.as_flattened()
            .iter()
            .zip(b.0.as_flattened())
            .chain(a.1.as_flattened().iter().zip(b.1.as_flattened()))
            .chain(a.2.iter().zip(&b.2))
            .chain(a.3.as_flattened().iter().zip(b.3.as_flattened()))
            .chain(a.4.iter().zip(&b.4));
    pairs
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f64::max)
}

/// The gradient training uses ([`value_and_gradient`], the macro's
/// `loss_value_and_backward`) against the hand-written one, to 1e-12, over the
/// first Adam steps.
#[test]
fn training_gradient_matches_hand_written_on_first_steps() {
    let mut t = Training::new(30, 5);
    for step in 0..5 {
        let p = &t.params;
        let (value, g) = value_and_gradient(&t.x, &t.y, p);
        let (hand_value, hand) =
            loss_value_and_backward_hand(&t.x, &t.y, &p.w1, &p.b1, &p.w2, &p.b2, 1.0);
        assert!((value - hand_value).abs() <= 1e-12, "step {step}: loss");
        let diff = max_relative_difference(&g, &hand);
        assert!(diff <= 1e-12, "step {step}: gradients differ by {diff:e}");
        t.epoch();
    }
}

#[test]
fn short_training_lowers_the_loss() {
    let mut t = Training::new(30, 1);
    let first = t.epoch();
    assert!((first - 3.0_f64.ln()).abs() < 1e-3, "initial loss {first}");
    for _ in 1..400 {
        t.epoch();
    }
    let last = t.loss();
    let acc = t.accuracy();
    assert!(last < 0.5, "loss {first} -> {last}");
    assert!(acc > 0.8, "accuracy {acc}");
    assert!(t.optimizer.current_learning_rate() < 0.05);
}

#[test]
fn spiral_data_has_the_book_shape() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let (x, y) = neuron_spiral::spiral_data(100, 3, &mut rng);
    assert_eq!((x.len(), y.len()), (300, 300));
    for c in 0..3 {
        let class = &y[100 * c..100 * (c + 1)];
        assert!(class.iter().all(|&k| k == c));
        // r = linspace(0, 1): the first point of each arm is the origin, the last at radius 1.
        assert_eq!(x[100 * c], [0.0, 0.0]);
        let [a, b] = x[100 * c + 99];
        assert!(((a * a + b * b).sqrt() - 1.0).abs() < 1e-12);
    }
}
