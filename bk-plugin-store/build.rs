//! Rebuilds the crate when a migration file is added or changed: `sqlx::migrate!` embeds the
//! files at compile time (sqlx's documented build script).

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
