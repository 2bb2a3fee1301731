//! The `apigw` subcommands of a plugin binary:
//!
//! - `apigw sync [--force]`: the preRelease hook (app_desc.yaml): syncs the gateway and
//!   stores its public key in the schedule store (see [`super::sync`]);
//! - `apigw definition DIR`: writes `DIR/definition.yaml` and `DIR/resources.yaml`, the pair
//!   apigw-manager's commands consume, for operators who sync with their own tooling.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::settings::{GatewaySettings, Purpose};
use super::sync::{Synced, sync};
use super::{definition, resources, yaml};
use crate::config::Config;

/// An `apigw` subcommand.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ApigwCommand {
    /// `apigw sync [--force]`.
    Sync {
        /// Sync even when nothing changed.
        force: bool,
    },
    /// `apigw definition DIR`.
    Definition(PathBuf),
}

/// The subcommand after `apigw`, if the arguments are one.
pub(crate) fn parse(rest: &[&str]) -> Option<ApigwCommand> {
    match rest {
        ["sync"] => Some(ApigwCommand::Sync { force: false }),
        ["sync", "--force"] => Some(ApigwCommand::Sync { force: true }),
        ["definition", dir] => Some(ApigwCommand::Definition(PathBuf::from(dir))),
        _ => None,
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Runs `command` with the configuration from the environment; messages on stdout, errors
/// on stderr, exit code 1 on failure.
pub(crate) fn run(command: ApigwCommand) -> ExitCode {
    let name = match &command {
        ApigwCommand::Sync { .. } => "apigw sync",
        ApigwCommand::Definition(_) => "apigw definition",
    };
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("bk-plugin {name}: {e}");
        ExitCode::FAILURE
    };
    let settings = |environment: &str, purpose| {
        GatewaySettings::from_lookup(var, environment, purpose).map_err(|e| fail(&e))
    };
    // The gateway settings first: their messages say what the sync misses.
    let environment = var("BKPAAS_ENVIRONMENT").unwrap_or_else(|| Config::default().environment);
    match command {
        ApigwCommand::Definition(dir) => {
            // The files need no store or secret.
            let settings = match settings(&environment, Purpose::Definition) {
                Ok(s) => s,
                Err(code) => return code,
            };
            definition_command(&settings, &dir, fail)
        }
        ApigwCommand::Sync { force } => {
            let settings = match settings(&environment, Purpose::Sync) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let config = match Config::from_env() {
                Ok(c) => c,
                Err(e) => return fail(&e),
            };
            sync_command(&config, &settings, force, fail)
        }
    }
}

fn definition_command(
    settings: &GatewaySettings,
    dir: &Path,
    fail: impl Fn(&dyn std::fmt::Display) -> ExitCode,
) -> ExitCode {
    match write_definition(settings, dir) {
        Ok(()) => {
            println!(
                "[apigw] wrote {} and {}",
                dir.join("definition.yaml").display(),
                dir.join("resources.yaml").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn sync_command(
    config: &Config,
    settings: &GatewaySettings,
    force: bool,
    fail: impl Fn(&dyn std::fmt::Display) -> ExitCode,
) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&e),
    };
    rt.block_on(async {
        let store = match crate::server::open_store(&config.database_url).await {
            Ok(s) => s,
            Err(e) => return fail(&e),
        };
        let mut log = |line: String| println!("[apigw] {line}");
        match sync(settings, &*store, force, &mut log).await {
            Ok(Synced::Unchanged) => ExitCode::SUCCESS,
            Ok(Synced::Released { version, created }) => {
                let new = if created { "new " } else { "" };
                println!("[apigw] {new}resource version {version} is released");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        }
    })
}

fn write_definition(s: &GatewaySettings, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("definition.yaml"),
        yaml(&definition::definition(s)),
    )?;
    std::fs::write(
        dir.join("resources.yaml"),
        yaml(&resources::resources(s.sub_path.is_some())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_apigw_subcommands() {
        assert_eq!(parse(&["sync"]), Some(ApigwCommand::Sync { force: false }));
        assert_eq!(
            parse(&["sync", "--force"]),
            Some(ApigwCommand::Sync { force: true })
        );
        assert_eq!(
            parse(&["definition", "out"]),
            Some(ApigwCommand::Definition("out".into()))
        );
        assert_eq!(parse(&["definition"]), None);
        assert_eq!(parse(&["release"]), None);
    }
}
