//! [`Change`]: one difference between two `detail`s of a version, classified.

use std::fmt;

use serde_json::Value;

use super::rules;

/// The part of `detail` a change is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// `inputs`: what the end user fills in.
    InputsSchema,
    /// `context_inputs`: what the calling system supplies.
    ContextInputsSchema,
    /// `outputs`: what the plugin writes.
    OutputsSchema,
    /// `forms.renderform`: the form's JavaScript.
    Form,
    /// The plugin itself: `desc`, `enable_plugin_callback`, `deprecated`.
    PluginMeta,
}

impl Section {
    /// The key of this section in `detail`; empty for [`Section::PluginMeta`], whose fields sit at
    /// the top level.
    pub fn key(self) -> &'static str {
        match self {
            Section::InputsSchema => "inputs",
            Section::ContextInputsSchema => "context_inputs",
            Section::OutputsSchema => "outputs",
            Section::Form => "forms",
            Section::PluginMeta => "",
        }
    }

    /// What one field of this section is called in messages.
    fn noun(self) -> &'static str {
        match self {
            Section::ContextInputsSchema => "context input",
            Section::OutputsSchema => "output",
            _ => "input",
        }
    }
}

/// Whether callers of the *same* version notice a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Safe in place (docs/versioning.md, "Changes that are safe in place").
    Compatible,
    /// Needs a new version: it breaks one of the rules of docs/versioning.md.
    Breaking,
}

/// The semantic-version part a change calls for (see [`suggest_bump`](super::suggest_bump)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bump {
    /// Only text that callers display changed (title, description, `desc`).
    Patch,
    /// Callers of the old schema keep working, but the schema or behaviour grew (an added
    /// optional input or output, a changed default, a widened type).
    Minor,
    /// A breaking change.
    Major,
}

/// What changed about one field (or about the form or plugin).
///
/// The field kinds are the same in every model section; [`Change::severity`] and
/// [`Change::rule`] depend on the section, e.g. a removed *input* that was optional is
/// compatible, a removed *output* never is.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ChangeKind {
    /// A new field listed in `required`.
    RequiredAdded,
    /// A field that was listed in `required` is gone (deleted or renamed).
    RequiredRemoved,
    /// A new field that is not required (`Option<T>`, `Value`, or with a default).
    OptionalAdded,
    /// A field that was not required is gone (deleted or renamed).
    OptionalRemoved,
    /// An existing field became required: its default was removed, or `Option<T>` became `T`.
    BecameRequired,
    /// An existing field is no longer required: it got a default, or `T` became `Option<T>`.
    BecameOptional,
    /// The field's type changed; `old` and `new` describe the types (`integer`,
    /// `array of string`, `model Options`, …).
    TypeChanged {
        /// The old type.
        old: String,
        /// The new type.
        new: String,
    },
    /// The field's type changed to one that accepts every old value: `integer` → `number`, or
    /// any type → `any` (`serde_json::Value`).
    TypeWidened {
        /// The old type.
        old: String,
        /// The new type.
        new: String,
    },
    /// The field's `title` changed.
    TitleChanged {
        /// The old title.
        old: String,
        /// The new title.
        new: String,
    },
    /// The field's `description` (or, for a model-typed field, its model's doc comment)
    /// changed, appeared or disappeared.
    DescriptionChanged,
    /// The field's `default` changed, appeared or disappeared (`None`: no default) while the
    /// field stayed required or stayed optional.
    DefaultChanged {
        /// The old default.
        old: Option<Value>,
        /// The new default.
        new: Option<Value>,
    },
    /// The field's form keys (`ui:*`, from `#[field(form = {..})]`, the Python `InputsForm`)
    /// changed, appeared or disappeared. Breaking, like an edit of `form.js`: which edit keeps
    /// the form's data structure cannot be told from the keys.
    FieldFormChanged {
        /// The keys added, removed or changed.
        keys: Vec<String>,
    },
    /// `forms.renderform` changed, appeared or disappeared; the values are the SHA-256 of the
    /// text (`None`: no form).
    FormChanged {
        /// The old form's hash.
        old_sha256: Option<String>,
        /// The new form's hash.
        new_sha256: Option<String>,
    },
    /// The plugin's `desc` changed.
    DescChanged,
    /// `enable_plugin_callback` was turned on.
    CallbackEnabled,
    /// `enable_plugin_callback` was turned off.
    CallbackDisabled,
    /// The version's status changed: deprecated (`#[plugin(deprecated = "..")]`, the message)
    /// or released (`None`), or the deprecation message changed. Compatible: callers pinned to
    /// the version keep working; only `meta` stops offering it to new ones.
    StatusChanged {
        /// The old deprecation message (`None`: released).
        old: Option<String>,
        /// The new deprecation message (`None`: released).
        new: Option<String>,
    },
}

/// One classified difference between two `detail`s, from [`diff`](super::diff).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Change {
    /// Where the change is, within [`section`](Change::section): a field path like
    /// `options.name` (`[]` stands for the items of an array, `{}` for the values of a map:
    /// `hosts[].ip`), `renderform` for the form, `desc` or `enable_plugin_callback` for the
    /// plugin.
    pub path: String,
    /// The part of `detail` it is in.
    pub section: Section,
    /// What changed.
    pub kind: ChangeKind,
    /// The rule of docs/versioning.md it breaks (one of the [`rules`] constants), `None` when
    /// it is compatible.
    pub rule: Option<&'static str>,
    /// Whether callers of the same version notice it.
    pub severity: Severity,
}

impl Change {
    /// A change, with its severity and rule from the table in docs/versioning.md (see
    /// [`rules`]).
    pub fn new(section: Section, path: impl Into<String>, kind: ChangeKind) -> Change {
        let (severity, rule) = rules::classify(section, &kind);
        Change {
            path: path.into(),
            section,
            kind,
            rule,
            severity,
        }
    }

    /// `true` when it needs a new version.
    pub fn is_breaking(&self) -> bool {
        self.severity == Severity::Breaking
    }

    /// The version part this change calls for on its own.
    pub fn bump(&self) -> Bump {
        rules::bump(self)
    }

    /// The section and path as one dotted location: `inputs.options.name`, `forms.renderform`,
    /// `desc`.
    pub fn location(&self) -> String {
        match self.section.key() {
            "" => self.path.clone(),
            key => format!("{key}.{}", self.path),
        }
    }

    /// What changed, in words: `required input removed`, `type changed from integer to
    /// string`.
    pub fn what(&self) -> String {
        let noun = self.section.noun();
        match &self.kind {
            ChangeKind::RequiredAdded if self.section == Section::OutputsSchema => {
                "output added".into()
            }
            ChangeKind::RequiredRemoved if self.section == Section::OutputsSchema => {
                "output removed".into()
            }
            ChangeKind::RequiredAdded => format!("required {noun} added"),
            ChangeKind::RequiredRemoved => format!("required {noun} removed"),
            ChangeKind::OptionalAdded => format!("optional {noun} added"),
            ChangeKind::OptionalRemoved => format!("optional {noun} removed"),
            ChangeKind::BecameRequired => format!("{noun} became required"),
            ChangeKind::BecameOptional if self.section == Section::OutputsSchema => {
                "output became optional (it may now be null)".into()
            }
            ChangeKind::BecameOptional => format!("{noun} became optional"),
            ChangeKind::TypeChanged { old, new } => format!("type changed from {old} to {new}"),
            ChangeKind::TypeWidened { old, new } => format!("type widened from {old} to {new}"),
            ChangeKind::TitleChanged { old, new } => {
                format!("title changed from {old:?} to {new:?}")
            }
            ChangeKind::DescriptionChanged => "description changed".into(),
            ChangeKind::DefaultChanged { old, new } => {
                format!(
                    "default changed from {} to {}",
                    show_default(old),
                    show_default(new)
                )
            }
            ChangeKind::FieldFormChanged { keys } if keys.len() == 1 => {
                format!("form key {} changed", keys[0])
            }
            ChangeKind::FieldFormChanged { keys } => {
                format!("form keys {} changed", keys.join(", "))
            }
            ChangeKind::FormChanged {
                old_sha256: None, ..
            } => "form added".into(),
            ChangeKind::FormChanged {
                new_sha256: None, ..
            } => "form removed".into(),
            ChangeKind::FormChanged { .. } => "form changed".into(),
            ChangeKind::DescChanged => "desc changed".into(),
            ChangeKind::CallbackEnabled => "enable_plugin_callback turned on".into(),
            ChangeKind::CallbackDisabled => "enable_plugin_callback turned off".into(),
            ChangeKind::StatusChanged { old, new } => format!(
                "status changed from {} to {}",
                show_status(old),
                show_status(new)
            ),
        }
    }
}

fn show_status(message: &Option<String>) -> String {
    match message {
        Some(m) => format!("deprecated ({m:?})"),
        None => "released".into(),
    }
}

fn show_default(value: &Option<Value>) -> String {
    match value {
        Some(v) => v.to_string(),
        None => "none".into(),
    }
}

/// `inputs.options.name: required input removed — breaks "removing a required input"`, or
/// `inputs.tag: description changed — compatible`. The version and the fix are added by
/// [`LockProblem`](super::LockProblem)'s lines.
impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} — ", self.location(), self.what())?;
        match (self.severity, self.rule) {
            (Severity::Breaking, Some(rule)) => write!(f, "breaks \"{rule}\""),
            (Severity::Breaking, None) => f.write_str("breaking"),
            (Severity::Compatible, _) if matches!(self.kind, ChangeKind::DefaultChanged { .. }) => {
                f.write_str(
                    "compatible, but running invocations get the new default at their next resume",
                )
            }
            (Severity::Compatible, _) => f.write_str("compatible"),
        }
    }
}
