//! Subcommands of a plugin binary besides serving: `diff` between two versions and the schema
//! lock (`lock check` / `lock update`). `run()` dispatches to them by the first argument.

use std::path::PathBuf;
use std::process::ExitCode;

use bk_plugin_core::versioning::{Lock, LockMode, check_lock_file, diff, suggest_bump};
use bk_plugin_core::{Registry, UnknownVersion};

pub(crate) const USAGE: &str = "\
usage: <plugin-binary> [serve] [--allow-orphans]
                                               serve the plugins (configuration from the environment);
                                               --allow-orphans: start even with unfinished invocations
                                               of versions the binary no longer has
       <plugin-binary> diff OLD NEW            what changed from version OLD to NEW, classified
       <plugin-binary> lock check [PATH]       compare the plugins with the schema lock
       <plugin-binary> lock update [PATH]      record new versions and compatible changes
       <plugin-binary> apigw sync [--force]    sync the API gateway (the BK PaaS preRelease hook)
       <plugin-binary> apigw definition DIR    write DIR/definition.yaml and DIR/resources.yaml
       <plugin-binary> schedules list|show|fail|retry-notify|purge ...
                                               the invocations in the store (schedules --help)
PATH defaults to ./plugin.lock.json";

/// What the command line asks for.
pub(crate) enum Command {
    /// Serve; `allow_orphans` from `--allow-orphans`.
    Serve {
        allow_orphans: bool,
    },
    Help,
    Diff(String, String),
    Lock(LockMode, PathBuf),
    Apigw(crate::apigw::ApigwCommand),
    Schedules(crate::schedules::SchedulesArgs),
    /// clap's answer for `schedules` (help, or a usage error), to print.
    SchedulesClap(clap::Error),
    Bad(String),
}

pub(crate) fn parse(args: &[String]) -> Command {
    let path = |p: Option<&String>| p.map_or_else(|| PathBuf::from(Lock::FILE_NAME), PathBuf::from);
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] | ["serve"] => Command::Serve {
            allow_orphans: false,
        },
        ["--allow-orphans"] | ["serve", "--allow-orphans"] => Command::Serve {
            allow_orphans: true,
        },
        ["-h" | "--help" | "help"] => Command::Help,
        ["diff", old, new] => Command::Diff((*old).to_owned(), (*new).to_owned()),
        ["lock", "check", rest @ ..] if rest.len() <= 1 => {
            Command::Lock(LockMode::Check, path(args.get(2)))
        }
        ["lock", "update", rest @ ..] if rest.len() <= 1 => {
            Command::Lock(LockMode::Update, path(args.get(2)))
        }
        ["apigw", rest @ ..] => match crate::apigw::parse(rest) {
            Some(c) => Command::Apigw(c),
            None => Command::Bad(format!("unknown command: apigw {}", rest.join(" "))),
        },
        ["schedules", ..] => match crate::schedules::parse(&args[1..]) {
            Ok(a) => Command::Schedules(a),
            Err(e) => Command::SchedulesClap(e),
        },
        other => Command::Bad(format!("unknown command: {}", other.join(" "))),
    }
}

/// The `diff OLD NEW` subcommand's report: a line per schema change between two served
/// versions, classified as breaking or compatible per the rules in docs/versioning.md, then the
/// smallest version the change calls for after OLD.
pub fn diff_report(registry: &Registry, old: &str, new: &str) -> Result<String, UnknownVersion> {
    let a = registry.get(old).ok_or_else(|| registry.unknown(old))?;
    let b = registry.get(new).ok_or_else(|| registry.unknown(new))?;
    let changes = diff(a.detail(), b.detail());
    if changes.is_empty() {
        return Ok(format!("{old} -> {new}: no schema change\n"));
    }
    let mut out = format!("{old} -> {new}: {} change(s)\n", changes.len());
    for c in &changes {
        let severity = if c.is_breaking() {
            "BREAKING  "
        } else {
            "compatible"
        };
        out.push_str(&format!("  {severity} {c}\n"));
    }
    if let Some(v) = suggest_bump(a.semver(), &changes) {
        let verdict = if b.semver() >= &v {
            "ok"
        } else {
            "too small a step"
        };
        out.push_str(&format!(
            "suggested version after {old}: {v} or later ({new}: {verdict})\n"
        ));
    }
    Ok(out)
}

pub(crate) fn run_diff(registry: &Registry, old: &str, new: &str) -> ExitCode {
    match diff_report(registry, old, new) {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

/// `lock check|update [PATH]`.
pub(crate) fn run_lock(registry: &Registry, mode: LockMode, path: &std::path::Path) -> ExitCode {
    match check_lock_file(registry, path, mode) {
        Ok(recorded) => {
            for line in &recorded {
                println!("{line}");
            }
            println!("{}: up to date", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_the_subcommands() {
        let serve = |allow| move |c: Command| matches!(c, Command::Serve { allow_orphans } if allow_orphans == allow);
        assert!(serve(false)(parse(&args(""))));
        assert!(serve(false)(parse(&args("serve"))));
        assert!(serve(true)(parse(&args("--allow-orphans"))));
        assert!(serve(true)(parse(&args("serve --allow-orphans"))));
        assert!(matches!(parse(&args("serve --allow")), Command::Bad(_)));
        assert!(matches!(parse(&args("--help")), Command::Help));
        assert!(
            matches!(parse(&args("diff 1.0.0 2.0.0")), Command::Diff(a, b) if a == "1.0.0" && b == "2.0.0")
        );
        assert!(
            matches!(parse(&args("lock check")), Command::Lock(LockMode::Check, p) if p == std::path::Path::new("plugin.lock.json"))
        );
        assert!(
            matches!(parse(&args("lock update x.json")), Command::Lock(LockMode::Update, p) if p == std::path::Path::new("x.json"))
        );
        assert!(matches!(parse(&args("diff 1.0.0")), Command::Bad(_)));
        assert!(matches!(parse(&args("lock check a b")), Command::Bad(_)));
    }
}
