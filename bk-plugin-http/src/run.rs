//! [`run`]: the whole server from `main`, configured from the environment.

use std::process::ExitCode;

use crate::cli;
use crate::config::Config;
use crate::server::Server;

/// Runs the plugin server: reads [`Config`] from the environment, opens the schedule store,
/// starts the engine and serves until Ctrl-C / SIGTERM. Logs JSON lines to stdout.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     bk_plugin_http::run()
/// }
/// ```
pub fn run() -> ExitCode {
    run_with(|server| server)
}

/// [`run`], with a hook to customise the [`Server`] (mount `plugin_api` routes, tune the
/// engine) before it starts.
///
/// ```no_run
/// use bk_plugin_http::axum::{Router, routing::get};
///
/// fn main() -> std::process::ExitCode {
///     bk_plugin_http::run_with(|server| {
///         server.plugin_api(Router::new().route("/ping", get(|| async { "pong" })))
///     })
/// }
/// ```
pub fn run_with(customize: impl FnOnce(Server) -> Server) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let allow_orphans = match cli::parse(&args) {
        cli::Command::Serve { allow_orphans } => allow_orphans,
        cli::Command::Help => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        cli::Command::Bad(msg) => {
            eprintln!("{msg}\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
        cli::Command::Diff(old, new) => {
            return with_registry(|r| cli::run_diff(r, &old, &new));
        }
        cli::Command::Lock(mode, path) => return with_registry(|r| cli::run_lock(r, mode, &path)),
        cli::Command::Apigw(command) => return crate::apigw::run(command),
        cli::Command::Schedules(command) => return crate::schedules::run(command),
        cli::Command::SchedulesClap(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let config = match Config::from_env() {
        Ok(mut c) => {
            c.allow_orphans |= allow_orphans;
            c
        }
        Err(e) => {
            eprintln!("bk-plugin: {e}");
            return ExitCode::FAILURE;
        }
    };
    let _logs = crate::logging::init_logging(config.is_dev());
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bk-plugin: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let listen = config.listen;
        let dev = config.is_dev();
        let app = match customize(Server::new(config)).build().await {
            Ok(app) => app,
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("bk-plugin: {e}");
                return ExitCode::FAILURE;
            }
        };
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("bk-plugin: cannot listen on {listen}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let addr = listener.local_addr().unwrap_or(listen);
        let versions: Vec<String> = app
            .engine()
            .registry()
            .plugins()
            .map(|p| match p.deprecated() {
                Some(_) => format!("{} (deprecated)", p.version()),
                None => p.version().to_owned(),
            })
            .collect();
        tracing::info!(%addr, ?versions, "serving plugin versions");
        eprintln!(
            "bk-plugin: serving {} on http://{addr}/bk_plugin/meta/",
            versions.join(", ")
        );
        if dev {
            eprintln!("bk-plugin: debug page: http://{addr}/");
        }
        match app.serve(listener).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bk-plugin: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

fn with_registry(f: impl FnOnce(&bk_plugin_core::Registry) -> ExitCode) -> ExitCode {
    match bk_plugin_core::try_registry() {
        Ok(r) => f(r),
        Err(e) => {
            eprintln!("bk-plugin: {e}");
            ExitCode::FAILURE
        }
    }
}
