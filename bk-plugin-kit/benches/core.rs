//! Core benchmarks: building `detail` JSON, validating inputs, running a step in process.
//!
//! `cargo bench -p bk-plugin-kit --bench core`; figures are recorded in docs/benchmarks.md.
#![allow(missing_docs, missing_debug_implementations)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{self, Map, Value, json};
use bk_plugin_kit::{Invocation, registry};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Inputs of the SOPS task plugin (end user fills these in).
#[derive(Inputs, Debug)]
pub struct ExecInputs {
    /// Template to instantiate.
    pub template_id: i64,
    pub task_name: String,
    /// Global constants of the task.
    #[field(default)]
    pub constants: Map<String, Value>,
    pub options: ExecOptions,
    pub tag: Option<String>,
}

#[derive(Inputs, Debug)]
pub struct ExecOptions {
    pub name: String,
    pub value: String,
}

#[derive(ContextInputs)]
pub struct ExecContext {
    #[field(title = "业务 cc id", description = "业务在 cmdb 中的 id")]
    pub biz_cc_id: i64,
    #[field(title = "任务执行人")]
    pub executor: String,
}

#[derive(Outputs)]
pub struct ExecOutputs {
    #[field(title = "标准运维任务 ID")]
    pub task_id: i64,
    #[field(title = "标准运维任务 URL")]
    pub task_url: String,
}

macro_rules! sops_version {
    ($name:ident, $version:literal) => {
        /// Creates a SOPS task and polls it until it ends.
        #[plugin(version = $version, desc = "Run a SOPS task")]
        pub struct $name;

        impl Plugin for $name {
            type Inputs = ExecInputs;
            type ContextInputs = ExecContext;
            type Outputs = ExecOutputs;

            async fn execute(
                &self,
                inputs: ExecInputs,
                ctx: &mut Context<Self>,
            ) -> Result<(), PluginError> {
                match ctx.state() {
                    State::Empty => {
                        ctx.storage_mut().insert("task_id".into(), 42.into());
                        ctx.wait_poll(Duration::from_secs(5));
                    }
                    _ => ctx.set_outputs(ExecOutputs {
                        task_id: 42,
                        task_url: inputs.task_name,
                    })?,
                }
                Ok(())
            }
        }
    };
}

sops_version!(SopsV1, "1.0.0");
sops_version!(SopsV2, "1.1.0");
sops_version!(SopsV3, "2.0.0");

/// The smallest plugin: no inputs, finishes at once.
#[plugin(version = "0.0.1")]
pub struct Trivial;

impl Plugin for Trivial {
    type Inputs = ();
    type ContextInputs = ();
    type Outputs = ();
    async fn execute(&self, _: (), _: &mut Context<Self>) -> Result<(), PluginError> {
        Ok(())
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = TaskContext::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn detail(c: &mut Criterion) {
    let mut g = c.benchmark_group("detail");
    g.throughput(Throughput::Elements(3));
    g.bench_function("build_all_versions", |b| {
        b.iter(|| {
            black_box(bk_plugin_kit::detail::<SopsV1>());
            black_box(bk_plugin_kit::detail::<SopsV2>());
            black_box(bk_plugin_kit::detail::<SopsV3>());
        })
    });
    g.bench_function("serialize_all_versions", |b| {
        let registry = registry();
        b.iter(|| {
            for v in ["1.0.0", "1.1.0", "2.0.0"] {
                black_box(serde_json::to_vec(registry.detail(v).unwrap()).unwrap());
            }
        })
    });
    g.finish();
}

fn inputs(c: &mut Criterion) {
    let exact = json!({"template_id": 7, "task_name": "deploy", "constants": {"${a}": 1},
                       "options": {"name": "color", "value": "blue"}, "tag": "t"});
    let coerced = json!({"template_id": "7", "task_name": 123, "options": {"name": "n", "value": "v"},
                         "extra": "ignored"});
    let bytes = serde_json::to_vec(&exact).unwrap();
    let mut g = c.benchmark_group("inputs");
    g.throughput(Throughput::Elements(1));
    g.bench_function("validate_exact", |b| {
        b.iter(|| black_box(ExecInputs::from_json(black_box(&exact)).unwrap()))
    });
    g.bench_function("validate_coerced", |b| {
        b.iter(|| black_box(ExecInputs::from_json(black_box(&coerced)).unwrap()))
    });
    g.bench_function("parse_and_validate_bytes", |b| {
        b.iter(|| {
            let v: Value = serde_json::from_slice(black_box(&bytes)).unwrap();
            black_box(ExecInputs::from_json(&v).unwrap())
        })
    });
    let bad = json!({"template_id": "abc", "options": {"name": "n"}});
    g.bench_function("validate_invalid_3_errors", |b| {
        b.iter(|| {
            black_box(
                ExecInputs::from_json(black_box(&bad))
                    .unwrap_err()
                    .to_string(),
            )
        })
    });
    g.finish();
}

fn run(c: &mut Criterion) {
    let registry = registry();
    let mut g = c.benchmark_group("run");
    g.throughput(Throughput::Elements(1));
    g.bench_function("trivial_first_step", |b| {
        b.iter(|| {
            let inv = Invocation::new("0123456789abcdef0123456789abcdef", Value::Null, Value::Null);
            black_box(block_on(registry.run("0.0.1", inv)).unwrap())
        })
    });
    let inputs =
        json!({"template_id": 7, "task_name": "deploy", "options": {"name": "n", "value": "v"}});
    let context = json!({"biz_cc_id": 2, "executor": "admin"});
    g.bench_function("sops_first_step", |b| {
        b.iter(|| {
            let inv = Invocation::new(
                "0123456789abcdef0123456789abcdef",
                inputs.clone(),
                context.clone(),
            );
            black_box(block_on(registry.run("1.0.0", inv)).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, detail, inputs, run);
criterion_main!(benches);
