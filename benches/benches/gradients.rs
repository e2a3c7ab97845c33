//! Gradient benchmarks: one criterion group per case, every variant in the
//! same process. Run with
//! `cargo bench -p neuron-bench -- --warm-up-time 1 --measurement-time 2`
//! (add `--features generated` once the macro supports the cases).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use neuron_bench::cases::{dense, layer_call, network, rnn, rosenbrock, seed_neuron};

/// The seed neuron, one call per iteration; the inputs are in memory (see
/// `seed_neuron::forward_on`).
fn seed_neuron(c: &mut Criterion) {
    let i = seed_neuron::inputs();
    let mut g = c.benchmark_group("neuron");
    g.bench_function("forward", |bn| {
        bn.iter(|| seed_neuron::forward_on(black_box(&i)))
    });
    g.bench_function("hand", |bn| bn.iter(|| seed_neuron::hand_on(black_box(&i))));
    g.bench_function("generated", |bn| {
        bn.iter(|| seed_neuron::generated_on(black_box(&i)))
    });
    g.bench_function("num_dual", |bn| {
        bn.iter(|| seed_neuron::num_dual_on(black_box(&i)))
    });
    g.bench_function("echidna", |bn| {
        bn.iter(|| seed_neuron::echidna_on(black_box(&i)))
    });
    g.bench_function("finite_diff", |bn| {
        bn.iter(|| seed_neuron::finite_diff_on(black_box(&i)))
    });
    g.finish();
}

/// The seed neuron over a batch of [`seed_neuron::BATCH`] neurons: per-call
/// harness cost (`black_box` spills and reloads of the arrays) is amortized,
/// so this measures throughput of the gradient code itself.
fn seed_neuron_x1024(c: &mut Criterion) {
    let inputs = seed_neuron::batch_inputs();
    let mut values = vec![0.0; seed_neuron::BATCH];
    let mut grads = vec![[0.0; 7]; seed_neuron::BATCH];
    let mut g = c.benchmark_group("neuron_x1024");
    g.throughput(Throughput::Elements(seed_neuron::BATCH as u64));
    g.bench_function("forward", |bn| {
        bn.iter(|| seed_neuron::forward_batch(black_box(&inputs[..]), black_box(&mut values[..])))
    });
    g.bench_function("hand", |bn| {
        bn.iter(|| seed_neuron::hand_batch(black_box(&inputs[..]), black_box(&mut grads[..])))
    });
    g.bench_function("generated", |bn| {
        bn.iter(|| seed_neuron::generated_batch(black_box(&inputs[..]), black_box(&mut grads[..])))
    });
    g.bench_function("num_dual", |bn| {
        bn.iter(|| seed_neuron::num_dual_batch(black_box(&inputs[..]), black_box(&mut grads[..])))
    });
    g.bench_function("echidna", |bn| {
        bn.iter(|| seed_neuron::echidna_batch(black_box(&inputs[..]), black_box(&mut grads[..])))
    });
    g.bench_function("finite_diff", |bn| {
        bn.iter(|| {
            seed_neuron::finite_diff_batch(black_box(&inputs[..]), black_box(&mut grads[..]))
        })
    });
    g.finish();
}

fn dense_layer(c: &mut Criterion) {
    let i = dense::inputs();
    let (x, w, b, dy) = (&i.x[..], &i.w[..], &i.b[..], i.dy);
    let mut g = c.benchmark_group("dense_64");
    g.bench_function("forward", |bn| {
        bn.iter(|| dense::dense(black_box(x), black_box(w), black_box(b)))
    });
    g.bench_function("hand", |bn| {
        bn.iter(|| dense::hand(black_box(x), black_box(w), black_box(b), black_box(dy)))
    });
    g.bench_function("hand_ieee", |bn| {
        bn.iter(|| dense::hand_ieee(black_box(x), black_box(w), black_box(b), black_box(dy)))
    });
    g.bench_function("generated", |bn| {
        bn.iter(|| dense::generated(black_box(x), black_box(w), black_box(b), black_box(dy)))
    });
    g.bench_function("generated_skip", |bn| {
        bn.iter(|| dense::generated_skip(black_box(x), black_box(w), black_box(b), black_box(dy)))
    });
    g.bench_function("echidna", |bn| {
        bn.iter(|| dense::echidna(black_box(x), black_box(w), black_box(b), black_box(dy)))
    });
    // 4224 forward passes (num_dual) and 8448 forward calls (finite_diff):
    // tens of milliseconds each, so fewer samples.
    g.sample_size(10);
    g.bench_function("num_dual", |bn| {
        bn.iter(|| dense::num_dual(black_box(x), black_box(w), black_box(b), black_box(dy)))
    });
    g.bench_function("finite_diff", |bn| {
        bn.iter(|| dense::finite_diff(black_box(x), black_box(w), black_box(b), black_box(dy)))
    });
    g.finish();
}

fn network_loss(c: &mut Criterion) {
    let i = network::inputs();
    let mut g = c.benchmark_group("network_loss");
    g.bench_function("forward", |bn| bn.iter(|| network::loss_on(black_box(&i))));
    g.bench_function("hand", |bn| {
        bn.iter(|| network::hand_on(black_box(&i), 1.0))
    });
    g.bench_function("hand_ieee", |bn| {
        bn.iter(|| network::hand_ieee_on(black_box(&i), 1.0))
    });
    g.bench_function("generated", |bn| {
        bn.iter(|| network::generated(black_box(&i), 1.0))
    });
    g.bench_function("generated_skip", |bn| {
        bn.iter(|| network::generated_skip(black_box(&i), 1.0))
    });
    g.bench_function("echidna", |bn| bn.iter(|| network::echidna(black_box(&i))));
    // 387 passes (num_dual) and 774 calls (finite_diff) over the batch.
    g.sample_size(10);
    g.bench_function("num_dual", |bn| {
        bn.iter(|| network::num_dual(black_box(&i)))
    });
    g.bench_function("finite_diff", |bn| {
        bn.iter(|| network::finite_diff(black_box(&i)))
    });
    g.finish();
}

fn rnn_cell(c: &mut Criterion) {
    let (x, w, u) = rnn::inputs();
    let mut g = c.benchmark_group("rnn_tanh_32");
    g.bench_function("forward", |bn| {
        bn.iter(|| rnn::rnn(black_box(x), black_box(w), black_box(u)))
    });
    g.bench_function("hand", |bn| {
        bn.iter(|| rnn::hand(black_box(x), black_box(w), black_box(u), 1.0))
    });
    g.bench_function("generated", |bn| {
        bn.iter(|| rnn::generated(black_box(x), black_box(w), black_box(u), 1.0))
    });
    g.bench_function("num_dual", |bn| {
        bn.iter(|| rnn::num_dual(black_box(x), black_box(w), black_box(u)))
    });
    g.bench_function("echidna", |bn| {
        bn.iter(|| rnn::echidna(black_box(x), black_box(w), black_box(u)))
    });
    g.bench_function("finite_diff", |bn| {
        bn.iter(|| rnn::finite_diff(black_box(x), black_box(w), black_box(u)))
    });
    g.finish();
}

fn rosenbrock_1000(c: &mut Criterion) {
    let x = rosenbrock::inputs();
    let mut g = c.benchmark_group("rosenbrock_1000");
    g.bench_function("forward", |bn| {
        bn.iter(|| rosenbrock::rosenbrock(black_box(&x)))
    });
    g.bench_function("hand", |bn| {
        bn.iter(|| rosenbrock::hand(black_box(&x), 1.0))
    });
    g.bench_function("generated", |bn| {
        bn.iter(|| rosenbrock::generated(black_box(&x), 1.0))
    });
    g.bench_function("echidna", |bn| {
        bn.iter(|| rosenbrock::echidna(black_box(&x)))
    });
    g.bench_function("finite_diff", |bn| {
        bn.iter(|| rosenbrock::finite_diff(black_box(&x)))
    });
    // 1000 passes over all 999 terms.
    g.sample_size(10);
    g.bench_function("num_dual", |bn| {
        bn.iter(|| rosenbrock::num_dual(black_box(&x)))
    });
    g.finish();
}

/// Not a target case: a call passing data to a `#[no_grad]` parameter.
fn layer_call_64(c: &mut Criterion) {
    let (x, w) = layer_call::inputs();
    let mut g = c.benchmark_group("layer_call_64");
    g.bench_function("forward", |bn| {
        bn.iter(|| layer_call::loss(black_box(&x), black_box(&w)))
    });
    g.bench_function("hand", |bn| {
        bn.iter(|| layer_call::hand(black_box(&x), black_box(&w), 1.0))
    });
    g.bench_function("generated", |bn| {
        bn.iter(|| layer_call::generated(black_box(&x), black_box(&w), 1.0))
    });
    g.bench_function("generated_plain", |bn| {
        bn.iter(|| layer_call::generated_plain(black_box(&x), black_box(&w), 1.0))
    });
    g.bench_function("generated_all", |bn| {
        bn.iter(|| layer_call::generated_all(black_box(&x), black_box(&w), 1.0))
    });
    g.bench_function("echidna", |bn| {
        bn.iter(|| layer_call::echidna(black_box(&x), black_box(&w)))
    });
    g.bench_function("hand_layer", |bn| {
        bn.iter(|| layer_call::hand_layer(black_box(&x), black_box(&w), 1.0))
    });
    g.bench_function("generated_layer", |bn| {
        bn.iter(|| layer_call::generated_layer(black_box(&x), black_box(&w), 1.0))
    });
    g.finish();
}

criterion_group!(
    benches,
    seed_neuron,
    seed_neuron_x1024,
    dense_layer,
    network_loss,
    rnn_cell,
    rosenbrock_1000,
    layer_call_64
);
criterion_main!(benches);
