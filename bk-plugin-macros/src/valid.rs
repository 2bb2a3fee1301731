//! Cross-checks that need the whole item: version syntax, field keys, forms.

use std::collections::HashMap;
use std::path::PathBuf;

use syn::LitStr;

use crate::ast::{Model, PluginItem};
use crate::ctxt::Ctxt;

/// Longest accepted version: the Python framework's limit (and its `varchar(128)` column).
const MAX_VERSION_LEN: usize = 128;

/// Checks a `version = "…"` literal: semantic version, no build metadata, ≤ 128 chars.
pub(crate) fn version(cx: &Ctxt, lit: &LitStr) -> Option<semver::Version> {
    let text = lit.value();
    let example = "e.g. `version = \"1.0.0\"` or a pre-release `version = \"1.0.0-rc.1\"`";
    if text.trim().is_empty() {
        cx.error_spanned_by(lit, format_args!("plugin version is empty; {example}"));
        return None;
    }
    if text.len() > MAX_VERSION_LEN {
        cx.error_spanned_by(
            lit,
            format_args!(
                "plugin version is {} characters long; the limit is {MAX_VERSION_LEN}",
                text.len()
            ),
        );
        return None;
    }
    if let Some(rest) = text.strip_prefix(['v', 'V']) {
        cx.error_spanned_by(
            lit,
            format_args!("`{text}` is not a valid plugin version: drop the leading `v` and write `version = \"{rest}\"`"),
        );
        return None;
    }
    match semver::Version::parse(&text) {
        Ok(v) if !v.build.is_empty() => {
            cx.error_spanned_by(
                lit,
                format_args!(
                    "`{text}` carries build metadata `+{}`, which plugin versions must not: callers \
                     tell versions apart by their text while semver ignores build metadata; \
                     write `version = \"{}\"`, or a pre-release such as `\"{}-rc.1\"`",
                    v.build,
                    semver::Version::new(v.major, v.minor, v.patch),
                    semver::Version::new(v.major, v.minor, v.patch),
                ),
            );
            None
        }
        Ok(v) => Some(v),
        Err(err) => {
            cx.error_spanned_by(
                lit,
                format_args!(
                    "`{text}` is not a valid semantic version ({err}); write MAJOR.MINOR.PATCH, {example}"
                ),
            );
            None
        }
    }
}

/// The hidden `macro_rules!` name that makes a second plugin with the same version in one
/// crate a compile error (E0428). Injective over semver text: `.` → `_` in the core part;
/// the pre-release follows `__` with `.` → `_d` and `-` → `_h`.
pub(crate) fn version_guard_name(v: &semver::Version) -> String {
    let mut name = format!("bk_plugin_version_{}_{}_{}", v.major, v.minor, v.patch);
    if !v.pre.is_empty() {
        name.push_str("__");
        for c in v.pre.as_str().chars() {
            match c {
                '.' => name.push_str("_d"),
                '-' => name.push_str("_h"),
                c => name.push(c),
            }
        }
    }
    name
}

/// Resolves the version's form: `form = "path"` (must exist) or `forms/{version}/form.js`
/// next to Cargo.toml (optional). Returns the absolute path to `include_str!`.
pub(crate) fn form_path(cx: &Ctxt, item: &PluginItem<'_>, version: &str) -> Option<PathBuf> {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from)?;
    match &item.args.form {
        Some(lit) => {
            let path = manifest_dir.join(lit.value());
            if path.is_file() {
                Some(path)
            } else {
                cx.error_spanned_by(
                    lit,
                    format_args!(
                        "form file `{}` not found (paths are relative to the crate's Cargo.toml, `{}`)",
                        lit.value(),
                        manifest_dir.display()
                    ),
                );
                None
            }
        }
        None => {
            let path = manifest_dir.join("forms").join(version).join("form.js");
            path.is_file().then_some(path)
        }
    }
}

/// Field keys must be unique after `rename`.
pub(crate) fn model(cx: &Ctxt, model: &Model<'_>) {
    let mut seen: HashMap<&str, &syn::Ident> = HashMap::new();
    for field in &model.fields {
        if let Some(first) = seen.insert(field.key.as_str(), field.member) {
            cx.syn_error(syn::Error::new(
                field.key_span,
                format_args!(
                    "JSON key `{}` is used by fields `{first}` and `{}`; give one of them another `rename`",
                    field.key, field.member
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn check(text: &str) -> Result<semver::Version, String> {
        let cx = Ctxt::new();
        let lit: LitStr = parse_quote!(#text);
        let v = version(&cx, &lit);
        match cx.finish() {
            Ok(()) => Ok(v.expect("ok without version")),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn accepts_semver_and_prerelease() {
        assert_eq!(check("1.0.0").unwrap().to_string(), "1.0.0");
        assert_eq!(check("10.20.30-rc.1").unwrap().to_string(), "10.20.30-rc.1");
    }

    #[test]
    fn rejects_with_fix() {
        assert!(check("1.0").unwrap_err().contains("MAJOR.MINOR.PATCH"));
        assert!(
            check("v1.0.0")
                .unwrap_err()
                .contains("drop the leading `v`")
        );
        assert!(
            check("1.0.0+build.5")
                .unwrap_err()
                .contains("build metadata")
        );
        assert!(check("").unwrap_err().contains("empty"));
        let long = format!("1.0.0-{}", "a".repeat(130));
        assert!(check(&long).unwrap_err().contains("limit is 128"));
    }

    #[test]
    fn guard_names_are_distinct() {
        let names: Vec<String> = [
            "1.0.0",
            "1.0.0-rc.1",
            "1.0.0-rc-1",
            "1.0.0-rc1",
            "1.0.1",
            "10.0.0",
            "1.00.0",
        ]
        .iter()
        .filter_map(|v| semver::Version::parse(v).ok())
        .map(|v| version_guard_name(&v))
        .collect();
        let unique: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        assert_eq!(names[0], "bk_plugin_version_1_0_0");
        assert_eq!(names[1], "bk_plugin_version_1_0_0__rc_d1");
    }
}
