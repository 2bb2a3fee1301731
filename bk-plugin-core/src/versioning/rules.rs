//! The rules of docs/versioning.md ("Changes that need a new version"), and which change breaks
//! which.
//!
//! The texts are the "Python rule" column of that table, so a failure names the rule a reader
//! can look up.

use super::change::{Bump, Change, ChangeKind, Section, Severity};

/// A new required field in `Inputs`, or an existing one that became required.
pub const ADD_REQUIRED_INPUT: &str = "adding a required input";
/// A required field of `Inputs` deleted or renamed.
pub const REMOVE_REQUIRED_INPUT: &str = "removing a required input";
/// A required field of `ContextInputs` added, deleted, renamed, or made required.
pub const REQUIRED_CONTEXT_INPUT: &str = "adding or removing a required context input";
/// An `Outputs` field deleted or renamed.
pub const REMOVE_OUTPUT: &str = "removing an output";
/// An `Outputs` field whose type changed (including "may now be null").
pub const CHANGE_OUTPUT_TYPE: &str = "changing an output's type";
/// `form.js` or a field's `ui:*` form keys changed, or an input's type changed so old values
/// may no longer coerce.
pub const CHANGE_FORM_DATA_STRUCTURE: &str = "changing the form data structure";
/// `enable_plugin_callback` turned on (the Python README's extra rule).
pub const ENABLE_PLUGIN_CALLBACK: &str = "turning on enable_plugin_callback";
/// Anything callers would not expect under the same version; here: `enable_plugin_callback`
/// turned off, so callers waiting for the finish callback are never called.
pub const DRASTIC_FUNCTIONAL_CHANGE: &str = "a drastic functional change";

/// The severity of `kind` in `section`, and the rule it breaks.
///
/// Inputs may widen and outputs may narrow: an input that accepts more, or an output that is
/// always present, keeps every caller working. The reverse breaks them.
pub(crate) fn classify(section: Section, kind: &ChangeKind) -> (Severity, Option<&'static str>) {
    use ChangeKind as K;
    let breaks = |rule| (Severity::Breaking, Some(rule));
    let compatible = (Severity::Compatible, None);
    match (section, kind) {
        (_, K::TitleChanged { .. } | K::DescriptionChanged | K::DefaultChanged { .. }) => {
            compatible
        }
        (Section::InputsSchema, K::RequiredAdded | K::BecameRequired) => breaks(ADD_REQUIRED_INPUT),
        (Section::InputsSchema, K::RequiredRemoved) => breaks(REMOVE_REQUIRED_INPUT),
        (
            Section::ContextInputsSchema,
            K::RequiredAdded | K::RequiredRemoved | K::BecameRequired,
        ) => breaks(REQUIRED_CONTEXT_INPUT),
        (Section::InputsSchema | Section::ContextInputsSchema, K::TypeChanged { .. }) => {
            breaks(CHANGE_FORM_DATA_STRUCTURE)
        }
        (
            Section::InputsSchema | Section::ContextInputsSchema,
            K::OptionalAdded | K::OptionalRemoved | K::BecameOptional | K::TypeWidened { .. },
        ) => compatible,
        (Section::OutputsSchema, K::RequiredAdded | K::OptionalAdded | K::BecameRequired) => {
            compatible
        }
        (Section::OutputsSchema, K::RequiredRemoved | K::OptionalRemoved) => breaks(REMOVE_OUTPUT),
        (
            Section::OutputsSchema,
            K::BecameOptional | K::TypeChanged { .. } | K::TypeWidened { .. },
        ) => breaks(CHANGE_OUTPUT_TYPE),
        (_, K::FormChanged { .. } | K::FieldFormChanged { .. }) => {
            breaks(CHANGE_FORM_DATA_STRUCTURE)
        }
        (_, K::CallbackEnabled) => breaks(ENABLE_PLUGIN_CALLBACK),
        (_, K::CallbackDisabled) => breaks(DRASTIC_FUNCTIONAL_CHANGE),
        (_, K::DescChanged | K::StatusChanged { .. }) => compatible,
        // Field kinds outside a model section are never produced by `diff`.
        (Section::Form | Section::PluginMeta, _) => breaks(DRASTIC_FUNCTIONAL_CHANGE),
    }
}

/// The version part `change` calls for: major when breaking, patch when only displayed text
/// changed, minor otherwise.
pub(crate) fn bump(change: &Change) -> Bump {
    match (&change.severity, &change.kind) {
        (Severity::Breaking, _) => Bump::Major,
        (_, ChangeKind::TitleChanged { .. } | ChangeKind::DescriptionChanged) => Bump::Patch,
        (_, ChangeKind::DescChanged | ChangeKind::StatusChanged { .. }) => Bump::Patch,
        _ => Bump::Minor,
    }
}
