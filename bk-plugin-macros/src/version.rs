//! The `version = "…"` literal: its syntax (semver, or the Python framework's spelling of a
//! pre-release), and the name of the duplicate-version guard.
//!
//! Core's `versioning::parse_version` applies the same rule at run time (registry, lock file);
//! this side gives the compile errors that say how to fix a version.

use syn::LitStr;

use crate::ctxt::Ctxt;

/// Longest accepted version: the Python framework's limit (and its `varchar(128)` column).
const MAX_VERSION_LEN: usize = 128;

const EXAMPLES: &str = "e.g. `version = \"1.0.0\"`, or a pre-release: `\"1.0.0-rc.1\"` (semver) or `\"1.0.0rc1\"` (the Python framework's spelling)";

/// Checks a `version = "…"` literal and returns the semantic version it is ordered by:
/// `1.0.0`, `1.0.0-rc.1`, or `1.0.0rc1` (read as `1.0.0-rc1`). No build metadata, no leading
/// `v`, no leading zeros, ≤ 128 chars.
pub(crate) fn version(cx: &Ctxt, lit: &LitStr) -> Option<semver::Version> {
    match check(&lit.value()) {
        Ok(v) => Some(v),
        Err(message) => {
            cx.error_spanned_by(lit, message);
            None
        }
    }
}

fn check(text: &str) -> Result<semver::Version, String> {
    if text.trim().is_empty() {
        return Err(format!("plugin version is empty; {EXAMPLES}"));
    }
    if text.len() > MAX_VERSION_LEN {
        return Err(format!(
            "plugin version is {} characters long; the limit is {MAX_VERSION_LEN}",
            text.len()
        ));
    }
    if let Some(rest) = text.strip_prefix(['v', 'V']) {
        return Err(format!(
            "`{text}` is not a valid plugin version: drop the leading `v` and write `version = \"{rest}\"`"
        ));
    }
    if let Some(at) = prerelease_without_hyphen(text) {
        return python_spelling(text, at);
    }
    match semver::Version::parse(text) {
        Ok(v) if !v.build.is_empty() => {
            let plain = semver::Version::new(v.major, v.minor, v.patch);
            Err(format!(
                "`{text}` carries build metadata `+{}`, which plugin versions must not: callers \
                 tell versions apart by their text while semver ignores build metadata; \
                 write `version = \"{plain}\"`, or a pre-release such as `\"{plain}-rc.1\"`",
                v.build,
            ))
        }
        Ok(v) => Ok(v),
        Err(err) => Err(format!(
            "`{text}` is not a valid plugin version ({err}); write MAJOR.MINOR.PATCH, {EXAMPLES}"
        )),
    }
}

/// `1.0.0rc1`: the Python pattern `^[0-9]+\.[0-9]+\.[0-9][a-z0-9]*$` with letters after the
/// patch number, read as the semver pre-release `1.0.0-rc1`.
fn python_spelling(text: &str, at: usize) -> Result<semver::Version, String> {
    let (core, pre) = text.split_at(at);
    if let Some((pre, build)) = pre.split_once('+') {
        return Err(format!(
            "`{text}` carries build metadata `+{build}`, which plugin versions must not: callers \
             tell versions apart by their text while semver ignores build metadata; \
             write `version = \"{core}{pre}\"`"
        ));
    }
    if pre.bytes().any(|b| !b.is_ascii_alphanumeric()) {
        return Err(format!(
            "`{text}` is not a valid plugin version: a pre-release written without a hyphen is only \
             lower-case letters and digits (the Python framework's pattern); write it as semver with a \
             hyphen, e.g. `version = \"{core}-{pre}\"`"
        ));
    }
    if pre.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "`{text}` is not a valid plugin version: a pre-release written without a hyphen must be \
             lower-case letters and digits, as the Python framework requires; write `version = \"{core}{}\"`, \
             or the semver spelling `version = \"{core}-{pre}\"`",
            pre.to_ascii_lowercase()
        ));
    }
    semver::Version::parse(&format!("{core}-{pre}")).map_err(|err| {
        format!(
            "`{text}` is not a valid plugin version ({err}); write MAJOR.MINOR.PATCH, {EXAMPLES}"
        )
    })
}

/// Where the letters after the patch number start (`1.0.0rc1` → 5): `DIGITS.DIGITS.DIGITS`
/// then a letter. `None` for anything else, including every semver text.
fn prerelease_without_hyphen(text: &str) -> Option<usize> {
    let mut parts = text.splitn(3, '.');
    let (major, minor, rest) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let patch_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let starts_with_letter = rest[patch_len..]
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic());
    (digits(major) && digits(minor) && patch_len > 0 && starts_with_letter)
        .then(|| major.len() + minor.len() + 2 + patch_len)
}

/// The hidden `macro_rules!` name that makes a second plugin with the same version in one
/// crate a compile error (E0428). Injective over semantic versions: `.` → `_` in the core part;
/// the pre-release follows `__` with `.` → `_d` and `-` → `_h`. Built from the semantic
/// version, so `1.0.0rc1` and `1.0.0-rc1` (one version, two spellings) collide too.
pub(crate) fn guard_name(v: &semver::Version) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_semver_and_prerelease() {
        assert_eq!(check("1.0.0").unwrap().to_string(), "1.0.0");
        assert_eq!(check("10.20.30-rc.1").unwrap().to_string(), "10.20.30-rc.1");
    }

    #[test]
    fn accepts_the_python_spelling_as_a_prerelease() {
        assert_eq!(check("1.0.0rc1").unwrap().to_string(), "1.0.0-rc1");
        assert_eq!(check("2.1.0b").unwrap().to_string(), "2.1.0-b");
        assert_eq!(check("1.0.10a1b2").unwrap().to_string(), "1.0.10-a1b2");
        assert!(check("1.0.0rc1").unwrap() < check("1.0.0").unwrap());
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
        assert!(
            check("1.0.0RC1")
                .unwrap_err()
                .contains("`version = \"1.0.0rc1\"`")
        );
        assert!(
            check("1.0.0rc-1")
                .unwrap_err()
                .contains("`version = \"1.0.0-rc-1\"`")
        );
        assert!(
            check("1.0.0rc1+b")
                .unwrap_err()
                .contains("`version = \"1.0.0rc1\"`")
        );
        assert!(
            check("1.0.0RC-1")
                .unwrap_err()
                .contains("`version = \"1.0.0-RC-1\"`")
        );
        assert!(check("1.0.01rc1").unwrap_err().contains("leading zero"));
        assert!(check("01.0.0").unwrap_err().contains("leading zero"));
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
        .map(|v| guard_name(&v))
        .collect();
        let unique: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        assert_eq!(names[0], "bk_plugin_version_1_0_0");
        assert_eq!(names[1], "bk_plugin_version_1_0_0__rc_d1");
    }

    #[test]
    fn two_spellings_share_a_guard() {
        let python = check("1.0.0rc1").unwrap();
        let semver = check("1.0.0-rc1").unwrap();
        assert_eq!(guard_name(&python), guard_name(&semver));
    }
}
