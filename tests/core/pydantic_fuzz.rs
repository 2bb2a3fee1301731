//! Differential fuzzing against pydantic 1.10.21: thousands of random, seeded input documents
//! (`fixtures/pydantic/fuzz.py`) over every supported field shape, each compared with the
//! kit's validation: the validated value as `to_json` writes it, or the error text.
//!
//! The cases come from the file named by `BK_PLUGIN_FUZZ_CASES`. Without it, the test runs
//! `fuzz.py` itself with `$BK_PLUGIN_PYTHON_PYDANTIC` (a Python with pydantic 1.10.21) and
//! the seed `$BK_PLUGIN_FUZZ_SEED` (default [`DEFAULT_SEED`]); with neither it says so and
//! skips. CI (`.ci/run`, step "pydantic differential fuzzing") sets `BK_PLUGIN_FUZZ_CASES`.
//!
//! The models are the Rust twins of `TOP` and `NESTED` in fuzz.py: keep the two in step.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use bk_plugin_kit::PluginCallbackInfo;
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{self, Map, Value};

/// The seed when `BK_PLUGIN_FUZZ_SEED` is unset (the one CI uses).
const DEFAULT_SEED: &str = "15";

/// Documents per model when the test generates the cases itself.
const PER_MODEL: &str = "1000";

/// Fewer cases than this means the file is not a real run.
const MIN_CASES: usize = 5000;

const SKIP_NOTICE: &str = "pydantic_fuzz SKIPPED: set BK_PLUGIN_FUZZ_CASES to a file written by tests/fixtures/pydantic/fuzz.py, or BK_PLUGIN_PYTHON_PYDANTIC to a Python with pydantic==1.10.21 (CI does)";

// ---- nested models (NESTED in fuzz.py) ----

#[derive(Inputs, Debug)]
pub struct Leaf {
    pub host: String,
    #[field(default = 22)]
    pub port: i64,
    #[field(default)]
    pub tags: Vec<String>,
}

#[derive(Inputs, Debug)]
pub struct Knobs {
    #[field(default = false)]
    pub verbose: bool,
    #[field(default = 1)]
    pub level: u8,
    #[field(default = 0.5)]
    pub ratio: f64,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            verbose: false,
            level: 1,
            ratio: 0.5,
        }
    }
}

#[derive(Inputs, Debug)]
pub struct Mid {
    pub name: String,
    pub leaf: Leaf,
    #[field(default)]
    pub leaves: Vec<Leaf>,
    #[field(default)]
    pub by_name: BTreeMap<String, Leaf>,
    pub maybe: Option<Leaf>,
    #[field(default)]
    pub knobs: Knobs,
    #[field(default)]
    pub extra: Map<String, Value>,
}

// ---- top-level models (TOP in fuzz.py) ----

#[derive(Inputs, Debug)]
pub struct Scalars {
    pub a_i8: i8,
    #[field(default = 0)]
    pub a_i16: i16,
    pub a_i32: i32,
    pub a_i64: i64,
    #[field(default = -1)]
    pub a_isize: isize,
    pub a_u8: u8,
    #[field(default = 7)]
    pub a_u16: u16,
    pub a_u32: u32,
    pub a_u64: u64,
    #[field(default = 0)]
    pub a_usize: usize,
    pub a_f64: f64,
    #[field(default = 1.5)]
    pub a_f32: f32,
    pub a_bool: bool,
    pub a_str: String,
    pub a_any: Value,
}

#[derive(Inputs, Debug)]
pub struct Optionals {
    pub o_int: Option<i64>,
    pub o_str: Option<String>,
    pub o_bool: Option<bool>,
    pub o_f64: Option<f64>,
    #[field(default = Some(5))]
    pub o_u16: Option<u16>,
    #[field(default = Some("d".to_owned()))]
    pub o_str_default: Option<String>,
    pub b_int: Box<i32>,
    pub b_o_str: Box<Option<String>>,
    pub o_b_u8: Option<Box<u8>>,
    #[field(rename = "bizId")]
    pub renamed: i64,
    #[field(rename = "v2-name", default = "x")]
    pub renamed_default: String,
    #[field(default = 0.25)]
    pub with_default: f64,
    #[field(default = true)]
    pub flag: bool,
}

#[derive(Inputs, Debug)]
pub struct Containers {
    pub l_int: Vec<i64>,
    #[field(default)]
    pub l_str: Vec<String>,
    #[field(default)]
    pub l_any: Vec<Value>,
    #[field(default)]
    pub l_l_int: Vec<Vec<i64>>,
    #[field(default)]
    pub l_o_int: Vec<Option<i64>>,
    #[field(default)]
    pub l_dict: Vec<Map<String, Value>>,
    #[field(default)]
    pub l_u8: Vec<u8>,
    pub d: Map<String, Value>,
    #[field(default)]
    pub d_int: BTreeMap<String, i64>,
    #[field(default)]
    pub d_any: HashMap<String, Value>,
    #[field(default)]
    pub d_l_str: BTreeMap<String, Vec<String>>,
    #[field(default)]
    pub d_o_bool: HashMap<String, Option<bool>>,
    #[field(default)]
    pub d_d_f64: BTreeMap<String, HashMap<String, f64>>,
    pub o_l_f64: Option<Vec<f64>>,
    pub o_dict: Option<Map<String, Value>>,
    pub o_d_str: Option<BTreeMap<String, String>>,
}

#[derive(Inputs, Debug)]
pub struct Nested {
    pub leaf: Leaf,
    pub o_leaf: Option<Leaf>,
    #[field(default)]
    pub l_leaf: Vec<Leaf>,
    #[field(default)]
    pub d_leaf: HashMap<String, Leaf>,
    pub mid: Mid,
    pub b_leaf: Box<Leaf>,
    #[field(default)]
    pub l_o_leaf: Vec<Option<Leaf>>,
    pub o_l_mid: Option<Vec<Mid>>,
    #[field(default)]
    pub knobs: Knobs,
    pub o_knobs: Option<Knobs>,
}

#[derive(Inputs, Debug)]
pub struct Dicts {
    pub d: Map<String, Value>,
    pub leaf: Leaf,
    pub d_str: BTreeMap<String, String>,
    pub d_any: HashMap<String, Value>,
    pub knobs: Knobs,
}

// ---- choices and constraints ("forms" in fuzz.py) ----

#[derive(Choice, Debug)]
pub enum Action {
    #[choice(rename = "start")]
    Start,
    #[choice(rename = "stop")]
    Stop,
}

#[derive(Choice, Debug)]
pub enum Level {
    Low = 1,
    High = 2,
}

#[derive(Choice, Debug)]
#[choice(literal)]
pub enum Mode {
    #[choice(rename = "fast")]
    Fast,
    #[choice(rename = "slow")]
    Slow,
}

#[derive(Choice, Debug)]
#[choice(literal)]
pub enum Port {
    Http = 80,
    Https = 443,
}

#[derive(Inputs, Debug)]
pub struct Forms {
    pub action: Action,
    pub o_action: Option<Action>,
    #[field(default)]
    pub l_action: Vec<Action>,
    #[field(default)]
    pub d_action: BTreeMap<String, Action>,
    #[field(default = Level::Low)]
    pub level: Level,
    pub mode: Mode,
    pub o_port: Option<Port>,
    #[field(default = 1, ge = 1, le = 10)]
    pub count: i64,
    #[field(gt = 0)]
    pub positive: i32,
    #[field(lt = 100, multiple_of = 5)]
    pub below: u16,
    #[field(default = 0.5, ge = 0, le = 1)]
    pub ratio: f64,
    #[field(gt = 0.5, multiple_of = 0.5)]
    pub step: f64,
    #[field(min_length = 2, max_length = 4)]
    pub name: String,
    #[field(default = "a", regex = "^[a-z]+[0-9]*$")]
    pub code: String,
    #[field(regex = "a|b")]
    pub prefix: Option<String>,
    #[field(default, min_items = 1, max_items = 2, max_length = 3)]
    pub tags: Vec<String>,
    #[field(default, ge = 0)]
    pub scores: Vec<i64>,
    #[field(default, gt = 0)]
    pub limits: HashMap<String, i64>,
    #[field(max_items = 2)]
    pub o_list: Option<Vec<bool>>,
}

#[derive(ContextInputs, Debug)]
pub struct Context {
    pub biz_cc_id: i64,
    pub executor: String,
    pub plugin_callback_info: Option<PluginCallbackInfo>,
}

/// Validates `input` as `M` through the public path: `to_json` of the value, or the error text.
fn inputs<M: Inputs>(input: &Value) -> Result<Value, String> {
    M::from_json(input)
        .map(|m| m.to_json())
        .map_err(|e| e.to_string())
}

fn context<M: ContextInputs>(input: &Value) -> Result<Value, String> {
    M::from_json(input)
        .map(|m| m.to_json())
        .map_err(|e| e.to_string())
}

/// The kit's answer for `input` under the model fuzz.py calls `model`.
fn kit(model: &str, input: &Value) -> Result<Value, String> {
    match model {
        "scalars" => inputs::<Scalars>(input),
        "optionals" => inputs::<Optionals>(input),
        "containers" => inputs::<Containers>(input),
        "nested" => inputs::<Nested>(input),
        "dicts" => inputs::<Dicts>(input),
        "forms" => inputs::<Forms>(input),
        "context" => context::<Context>(input),
        other => panic!("unknown model {other:?} in the fuzz cases: update pydantic_fuzz.rs"),
    }
}

// ---- comparison ----

/// Rule `nonfinite-is-null` (docs/coercion.md, "Differential fuzzing"): pydantic keeps NaN and
/// ±infinity, which JSON cannot hold; fuzz.py writes them as `{"$nonfinite": ...}` and the kit's
/// `to_json` writes `null`. Any other difference in such a case still fails.
fn is_nonfinite_marker(expected: &Value) -> bool {
    expected
        .as_object()
        .is_some_and(|m| m.len() == 1 && m.contains_key("$nonfinite"))
}

/// `actual == expected`, with the `nonfinite-is-null` rule; counts where the rule was used.
fn same_value(actual: &Value, expected: &Value, rule_uses: &mut usize) -> bool {
    if is_nonfinite_marker(expected) {
        *rule_uses += 1;
        return actual.is_null();
    }
    match (actual, expected) {
        (Value::Array(a), Value::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(a, e)| same_value(a, e, rule_uses))
        }
        (Value::Object(a), Value::Object(e)) => {
            a.len() == e.len()
                && e.iter()
                    .all(|(k, e)| a.get(k).is_some_and(|a| same_value(a, e, rule_uses)))
        }
        _ => actual == expected,
    }
}

/// Compares one case: `None` if the kit answers as pydantic did, else the report lines.
fn compare(case: &Value, nonfinite_uses: &mut usize) -> Option<String> {
    let model = case["model"].as_str().expect("case without a model");
    let input = &case["input"];
    let expected = &case["expected"];
    let actual = kit(model, input);
    let same = match (&actual, expected.get("ok"), expected.get("err")) {
        (Ok(v), Some(ok), _) => same_value(v, ok, nonfinite_uses),
        (Err(e), _, Some(err)) => Some(e.as_str()) == err.as_str(),
        _ => false,
    };
    (!same).then(|| describe(model, input, &actual, expected))
}

fn describe(
    model: &str,
    input: &Value,
    actual: &Result<Value, String>,
    expected: &Value,
) -> String {
    let kit = match actual {
        Ok(v) => format!("ok {v}"),
        Err(e) => format!("err {e:?}"),
    };
    let pydantic = match (expected.get("ok"), expected.get("err")) {
        (Some(v), _) => format!("ok {v}"),
        (_, Some(e)) => format!("err {e}"),
        _ => format!("?? {expected}"),
    };
    format!("model {model}\n  input    {input}\n  kit      {kit}\n  pydantic {pydantic}")
}

// ---- where the cases come from ----

fn fuzz_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/pydantic/fuzz.py")
}

/// Runs fuzz.py with `python` into a temp file and returns its path.
fn generate(python: &str) -> PathBuf {
    let seed = std::env::var("BK_PLUGIN_FUZZ_SEED").unwrap_or_else(|_| DEFAULT_SEED.to_owned());
    let out =
        std::env::temp_dir().join(format!("bk-plugin-fuzz-{}-{seed}.json", std::process::id()));
    let status = Command::new(python)
        .arg(fuzz_script())
        .args(["--seed", &seed, "--per-model", PER_MODEL, "--out"])
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    assert!(status.success(), "fuzz.py failed: {status}");
    out
}

/// Where the cases are, and whether this test wrote that file (and so removes it).
fn cases_file() -> Option<(PathBuf, bool)> {
    if let Ok(path) = std::env::var("BK_PLUGIN_FUZZ_CASES") {
        return Some((PathBuf::from(path), false));
    }
    let python = std::env::var("BK_PLUGIN_PYTHON_PYDANTIC").ok()?;
    Some((generate(&python), true))
}

fn read_cases(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The counts of one run.
#[derive(Default)]
struct Tally {
    cases: usize,
    nonfinite_uses: usize,
    mismatches: Vec<String>,
}

impl Tally {
    /// One line: cases, matches and percentage, rule uses.
    fn summary(&self, file: &Value) -> String {
        let matched = self.cases - self.mismatches.len();
        let percent = 100.0 * matched as f64 / self.cases as f64;
        let run = format!("seed {}, pydantic {}", file["seed"], file["pydantic"]);
        let counts = format!(
            "{} cases, {matched} match ({percent:.2}%), {} differ",
            self.cases,
            self.mismatches.len()
        );
        let rules = format!("rule nonfinite-is-null used {} times", self.nonfinite_uses);
        format!("pydantic fuzz ({run}): {counts}; {rules}")
    }
}

#[test]
fn random_inputs_validate_like_pydantic() {
    let Some((path, generated)) = cases_file() else {
        // Straight to stderr: the test harness would hide an `eprintln!` of a passing test.
        let _ = writeln!(std::io::stderr(), "{SKIP_NOTICE}");
        return;
    };
    let file = read_cases(&path);
    if generated {
        let _ = std::fs::remove_file(&path);
    }
    let cases = file["cases"].as_array().expect("no `cases` array");
    assert!(
        cases.len() >= MIN_CASES,
        "only {} cases in {}",
        cases.len(),
        path.display()
    );
    let started = std::time::Instant::now();
    let mut tally = Tally {
        cases: cases.len(),
        ..Tally::default()
    };
    for case in cases {
        if let Some(report) = compare(case, &mut tally.nonfinite_uses) {
            tally.mismatches.push(report);
        }
    }
    println!("{} in {:.1?}", tally.summary(&file), started.elapsed());
    assert!(
        tally.mismatches.is_empty(),
        "{} of {} cases differ from pydantic:\n{}",
        tally.mismatches.len(),
        tally.cases,
        tally.mismatches.join("\n")
    );
}
