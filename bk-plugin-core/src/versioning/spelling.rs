//! [`parse_version`]: a plugin version's text, in either accepted spelling, as the semantic
//! version it is ordered by.
//!
//! `#[plugin(version = "..")]` checks the same rule at compile time, with messages that say how
//! to fix a version (bk-plugin-macros' `version.rs`); this is the run-time side, for the
//! registry and for the versions of a lock file.

use semver::Version;

/// Why a text is not a plugin version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not a plugin version ({reason}); write MAJOR.MINOR.PATCH, e.g. `1.0.0`, or a pre-release: `1.0.0-rc.1` (semver) or `1.0.0rc1` (the Python framework's spelling)"
)]
pub struct InvalidVersion {
    /// The text.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The semantic version a plugin version's text stands for.
///
/// Two spellings are accepted:
///
/// - a [semantic version](https://semver.org) without build metadata: `1.0.0`, `1.0.0-rc.1`;
/// - the Python framework's spelling of a pre-release, which its pattern
///   `^[0-9]+\.[0-9]+\.[0-9][a-z0-9]*$` allows: letters (lower case) right after the patch
///   number, `1.0.0rc1`, `2.1.0b2`. It stands for the semver pre-release with a hyphen
///   (`1.0.0-rc1`), so it is ordered as that: after `1.0.0-beta`, before `1.0.0`.
///
/// The text stays the version's identity: `detail/1.0.0rc1` and `meta` use it as written, and
/// `1.0.0-rc1` is another text (a different version for callers; in one binary both would be
/// the same semantic version, which the registry refuses).
///
/// ```
/// use bk_plugin_core::versioning::parse_version;
///
/// assert_eq!(parse_version("1.0.0rc1").unwrap(), semver::Version::parse("1.0.0-rc1").unwrap());
/// assert!(parse_version("1.0.0rc1").unwrap() < parse_version("1.0.0").unwrap());
/// assert!(parse_version("1.0.0+build.5").is_err());
/// assert!(parse_version("1.0.0RC1").is_err());
/// ```
pub fn parse_version(text: &str) -> Result<Version, InvalidVersion> {
    let invalid = |reason: String| InvalidVersion {
        text: text.to_owned(),
        reason,
    };
    let semver_text = match python_prerelease_at(text) {
        Some(at) => format!("{}-{}", &text[..at], &text[at..]),
        None => text.to_owned(),
    };
    let version = Version::parse(&semver_text).map_err(|e| invalid(e.to_string()))?;
    if !version.build.is_empty() {
        return Err(invalid(format!(
            "build metadata `+{}` is not allowed: callers tell versions apart by their text, semver ignores it",
            version.build
        )));
    }
    Ok(version)
}

/// Where the pre-release of a Python-spelled version starts (`1.0.0rc1` → 5), `None` when the
/// text is not spelled that way: `DIGITS.DIGITS.DIGITS` directly followed by a lower-case
/// letter and then only lower-case letters and digits.
fn python_prerelease_at(text: &str) -> Option<usize> {
    let mut parts = text.splitn(3, '.');
    let (major, minor, rest) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let patch_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let pre = &rest[patch_len..];
    let lower_alnum = pre
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let starts_with_letter = pre.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
    (digits(major) && digits(minor) && patch_len > 0 && starts_with_letter && lower_alnum)
        .then(|| major.len() + minor.len() + 2 + patch_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        parse_version(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn python_spelling_is_the_hyphenated_prerelease() {
        assert_eq!(v("1.0.0rc1"), Version::parse("1.0.0-rc1").unwrap());
        assert_eq!(v("2.10.3b"), Version::parse("2.10.3-b").unwrap());
        assert_eq!(v("1.0.0a1b2"), Version::parse("1.0.0-a1b2").unwrap());
        assert_eq!(v("1.0.0-rc.1"), Version::parse("1.0.0-rc.1").unwrap());
        assert_eq!(v("1.0.10"), Version::new(1, 0, 10));
    }

    #[test]
    fn ordered_as_semver() {
        let mut texts = [
            "1.0.0", "1.0.0rc2", "1.0.0rc1", "1.0.0b1", "0.9.0", "1.0.1a",
        ];
        texts.sort_by_key(|t| std::cmp::Reverse(v(t)));
        assert_eq!(
            texts,
            [
                "1.0.1a", "1.0.0", "1.0.0rc2", "1.0.0rc1", "1.0.0b1", "0.9.0"
            ]
        );
    }

    #[test]
    fn rejects_what_neither_spelling_allows() {
        for bad in [
            "",
            "1.0",
            "v1.0.0",
            "1.0.0RC1",
            "1.0.0rc-1",
            "1.0.0.1",
            "01.0.0",
            "1.0.01rc1",
            "1.0.0+b",
            "1.0.0rc1+b",
            "1.0.0_rc1",
            " 1.0.0",
        ] {
            assert!(parse_version(bad).is_err(), "{bad:?}");
        }
        assert_eq!(python_prerelease_at("1.0.0rc1"), Some(5));
        assert_eq!(python_prerelease_at("10.20.30rc1"), Some(8));
        assert_eq!(python_prerelease_at("1.0.0"), None);
        assert_eq!(python_prerelease_at("1.0.0-rc1"), None);
    }
}
