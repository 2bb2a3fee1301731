//! `schedules …`: the operator's subcommands of a plugin binary. They work on the configured
//! store (the same environment as serving: SQLite file, PostgreSQL or MySQL) without a
//! running server, and are safe beside running replicas: reads are plain reads, `fail`
//! cancels under a lease as a caller's cancel does, `retry-notify` and `purge` are single
//! statements.

pub(crate) mod render;

use std::process::ExitCode;
use std::time::Duration;

use bk_plugin_core::{Cancellation, State};
use bk_plugin_engine::store::ScheduleFilter;
use bk_plugin_engine::{CancelError, Cancelled, Engine, EngineConfig};
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::server::{StartError, open_store};

/// The `schedules` command line.
#[derive(Debug, Parser)]
#[command(
    name = "schedules",
    about = "Inspect and act on the invocations in the configured store"
)]
pub(crate) struct SchedulesArgs {
    #[command(subcommand)]
    command: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// List invocations, newest first.
    List {
        /// Only in this state (repeatable): poll, callback, success, fail, waiting (poll and
        /// callback) or finished (success and fail).
        #[arg(long, value_enum)]
        state: Vec<StateArg>,
        /// Only of this plugin version.
        #[arg(long)]
        version: Option<String>,
        /// Only created longer ago than this: numbers with units s, m, h, d, w (`2h`, `7d`,
        /// `1h30m`).
        #[arg(long, value_parser = parse_age)]
        older_than: Option<Duration>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Everything about one invocation: state, data (secrets redacted), lease, inbox,
    /// pending notifications, timings.
    Show {
        /// Its trace id.
        trace_id: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// End a waiting invocation as FAIL (its plugin's on_cancel runs first).
    Fail {
        /// Its trace id.
        trace_id: String,
        /// Why; it is in the invocation's err.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Send the finish notification of a finished invocation again, from the first attempt.
    RetryNotify {
        /// Its trace id.
        trace_id: String,
    },
    /// Delete the invocations that finished longer ago than this.
    Purge {
        /// e.g. `30d` (units s, m, h, d, w).
        #[arg(long, value_parser = parse_age)]
        older_than: Duration,
    },
}

/// A state filter as operators write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StateArg {
    Poll,
    Callback,
    Success,
    Fail,
    Waiting,
    Finished,
}

impl StateArg {
    /// `poll`, `waiting`, …; `None` for another word.
    pub(crate) fn parse(name: &str) -> Option<StateArg> {
        <StateArg as ValueEnum>::from_str(name, false).ok()
    }

    /// The states it selects.
    pub(crate) fn states(self) -> &'static [State] {
        match self {
            StateArg::Poll => &[State::Poll],
            StateArg::Callback => &[State::Callback],
            StateArg::Success => &[State::Success],
            StateArg::Fail => &[State::Fail],
            StateArg::Waiting => &[State::Poll, State::Callback],
            StateArg::Finished => &[State::Success, State::Fail],
        }
    }
}

/// An age as operators write it: one or more `<number><unit>`, units `s`, `m`, `h`, `d`, `w`
/// (`90m`, `1h30m`, `7d`), numbers of at most 6 digits. The OpenAPI document's pattern for
/// `older_than` is this grammar.
pub(crate) fn parse_age(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!("{text:?} is not an age: write numbers with units s, m, h, d, w, e.g. 1h30m or 7d")
    };
    let mut rest = text;
    let mut total = 0u64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if !(1..=6).contains(&digits) {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        let unit = match rest.as_bytes().get(digits) {
            Some(b's') => 1,
            Some(b'm') => 60,
            Some(b'h') => 3_600,
            Some(b'd') => 86_400,
            Some(b'w') => 604_800,
            _ => return Err(bad()),
        };
        total += n * unit;
        rest = &rest[digits + 1..];
    }
    Ok(Duration::from_secs(total))
}

/// Parses `args` (after `schedules`); `Err` is clap's message (help included), to print.
pub(crate) fn parse(args: &[String]) -> Result<SchedulesArgs, clap::Error> {
    SchedulesArgs::try_parse_from(
        std::iter::once("schedules".to_owned()).chain(args.iter().cloned()),
    )
}

/// Runs a parsed `schedules` command.
pub(crate) fn run(args: SchedulesArgs) -> ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    rt.block_on(async move {
        let engine = match engine(&config).await {
            Ok(e) => e,
            Err(e) => return fail(&e.to_string()),
        };
        match act(&engine, args.command).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => fail(&message),
        }
    })
}

fn fail(message: &str) -> ExitCode {
    eprintln!("bk-plugin schedules: {message}");
    ExitCode::FAILURE
}

/// An engine over the configured store, without its background loops.
async fn engine(config: &Config) -> Result<Engine, StartError> {
    let registry =
        bk_plugin_core::try_registry().map_err(|e| StartError::Registry(e.to_string()))?;
    let store = open_store(&config.database_url).await?;
    let mut engine_config = EngineConfig::default();
    engine_config.notify_policy = config.notify_policy()?;
    config.engine.apply(&mut engine_config);
    Ok(Engine::builder(registry, store)
        .config(engine_config)
        .build())
}

async fn act(engine: &Engine, action: Action) -> Result<(), String> {
    let now = engine.clock().now();
    match action {
        Action::List {
            state,
            version,
            older_than,
            limit,
            json,
        } => {
            let mut filter = ScheduleFilter::new()
                .states(state.iter().flat_map(|s| s.states().iter().copied()))
                .limit(limit);
            if let Some(v) = version {
                filter = filter.version(v);
            }
            if let Some(age) = older_than {
                filter = filter.created_before(now.saturating_sub(age));
            }
            let rows = engine
                .list_schedules(&filter)
                .await
                .map_err(|e| e.to_string())?;
            print!("{}", render::list(&rows, json));
            Ok(())
        }
        Action::Show { trace_id, json } => {
            let found = engine.inspect(&trace_id).await.map_err(|e| e.to_string())?;
            let i =
                found.ok_or_else(|| format!("can not find schedule for trace_id {trace_id}"))?;
            print!("{}", render::show(&i, now, json));
            Ok(())
        }
        Action::Fail { trace_id, reason } => {
            let by = Cancellation::new("operator", reason);
            match engine.fail_waiting(&trace_id, by).await {
                Ok(Cancelled::Pending(_)) => {
                    println!(
                        "{trace_id}: a step is running in a serving replica; it ends as FAIL once that step is stored"
                    );
                    Ok(())
                }
                Ok(done) => {
                    let r = done.record();
                    println!("{trace_id}: {} ({})", render::state_name(r.state), r.err);
                    Ok(())
                }
                Err(CancelError::NotFound(_)) => {
                    Err(format!("can not find schedule for trace_id {trace_id}"))
                }
                Err(e) => Err(e.to_string()),
            }
        }
        Action::RetryNotify { trace_id } => {
            let enqueued = engine
                .retry_notify(&trace_id)
                .await
                .map_err(|e| e.to_string())?;
            let how = if enqueued {
                "enqueued anew"
            } else {
                "started over"
            };
            println!("{trace_id}: finish notification {how}; the serving replicas send it");
            Ok(())
        }
        Action::Purge { older_than } => {
            let n = engine
                .purge_older_than(older_than)
                .await
                .map_err(|e| e.to_string())?;
            println!("purged {n} finished invocations");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_numbers_with_units() {
        let secs = |t: &str| parse_age(t).map(|d| d.as_secs());
        assert_eq!(secs("90m"), Ok(5_400));
        assert_eq!(secs("1h30m"), Ok(5_400));
        assert_eq!(secs("7d"), Ok(604_800));
        assert_eq!(secs("2w1s"), Ok(1_209_601));
        assert_eq!(secs("0s"), Ok(0));
        for bad in ["", "7", "d", "7 d", "1x", "1234567s", "-1h", "soon"] {
            let err = parse_age(bad).unwrap_err();
            assert!(err.contains("is not an age"), "{bad}: {err}");
        }
    }
}
