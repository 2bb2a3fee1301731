//! [`suggest_bump`]: the version to release a set of changes as.

use semver::Version;

use super::change::{Bump, Change};

/// The version to release `changes` of `version` as, instead of editing `version` in place;
/// `None` when there are no changes.
///
/// The largest [`Change::bump`] wins:
///
/// - any breaking change: the next major (`1.4.2` → `2.0.0`);
/// - otherwise any change callers can use or notice at run time (an added optional input or
///   output, a removed optional input, a widened type, a changed default): the next minor
///   (`1.4.2` → `1.5.0`);
/// - otherwise (titles, descriptions, `desc`): the next patch (`1.4.2` → `1.4.3`).
///
/// Pre-release and build parts are dropped (`1.0.0-rc.1` → `2.0.0`, `1.1.0` or `1.0.1`):
/// callers treat a version's text as its identity, so the suggestion is always a new plain
/// version. Compatible changes may also be made in place (recorded in the lock); the minor or
/// patch suggestion is for authors who prefer a new version anyway.
///
/// ```
/// use bk_plugin_core::versioning::{Change, ChangeKind, Section, suggest_bump};
/// use semver::Version;
///
/// let v = Version::new(1, 0, 0);
/// let removed = Change::new(Section::InputsSchema, "name", ChangeKind::RequiredRemoved);
/// let added = Change::new(Section::OutputsSchema, "url", ChangeKind::RequiredAdded);
/// let retitled = Change::new(Section::InputsSchema, "name", ChangeKind::DescriptionChanged);
/// assert_eq!(suggest_bump(&v, &[retitled.clone(), removed]), Some(Version::new(2, 0, 0)));
/// assert_eq!(suggest_bump(&v, &[retitled.clone(), added]), Some(Version::new(1, 1, 0)));
/// assert_eq!(suggest_bump(&v, &[retitled]), Some(Version::new(1, 0, 1)));
/// assert_eq!(suggest_bump(&v, &[]), None);
/// ```
pub fn suggest_bump(version: &Version, changes: &[Change]) -> Option<Version> {
    let bump = changes.iter().map(Change::bump).max()?;
    Some(apply(version, bump))
}

/// `version` bumped by `bump`, pre-release and build dropped.
pub(crate) fn apply(version: &Version, bump: Bump) -> Version {
    match bump {
        Bump::Major => Version::new(version.major + 1, 0, 0),
        Bump::Minor => Version::new(version.major, version.minor + 1, 0),
        Bump::Patch => Version::new(version.major, version.minor, version.patch + 1),
    }
}

/// [`suggest_bump`], moved past the lines already in use: a major suggestion skips every major
/// that has a version in `taken` (`1.0.0` with `2.1.0` taken → `3.0.0`), a minor one every
/// `major.minor` in use, a patch one every version in use.
pub(crate) fn suggest_free<'a>(
    version: &Version,
    changes: &[Change],
    taken: impl Iterator<Item = &'a Version> + Clone,
) -> Option<Version> {
    let bump = changes.iter().map(Change::bump).max()?;
    let mut candidate = apply(version, bump);
    let in_use = |c: &Version| {
        taken.clone().any(|t| match bump {
            Bump::Major => t.major == c.major,
            Bump::Minor => t.major == c.major && t.minor == c.minor,
            Bump::Patch => (t.major, t.minor, t.patch) == (c.major, c.minor, c.patch),
        })
    };
    while in_use(&candidate) {
        candidate = apply(&candidate, bump);
    }
    Some(candidate)
}
