//! One test per rule of the classification (docs/versioning.md, "Schema lock and change
//! classification"), on hand-written pydantic-shaped schemas.

use semver::Version;
use serde_json::{Value, json};

use super::bump::suggest_free;
use super::*;

/// A root schema: `{type, properties, required, definitions}`.
fn root(properties: Value, required: &[&str], definitions: Value) -> Value {
    json!({"type": "object", "properties": properties, "required": required, "definitions": definitions})
}

/// A detail whose `section` is `schema` and whose other sections are empty.
fn detail_with(section: &str, schema: Value) -> Value {
    let empty = root(json!({}), &[], json!({}));
    let mut d = json!({
        "desc": "d",
        "version": "1.0.0",
        "enable_plugin_callback": false,
        "inputs": empty,
        "outputs": empty,
        "context_inputs": empty,
        "forms": {"renderform": null},
    });
    d[section] = schema;
    d
}

/// `diff` of two versions of one section.
fn diff_section(section: &str, old: Value, new: Value) -> Vec<Change> {
    diff(&detail_with(section, old), &detail_with(section, new))
}

fn string(title: &str) -> Value {
    json!({"title": title, "type": "string"})
}

/// The one change of a diff.
fn only(changes: Vec<Change>) -> Change {
    assert_eq!(changes.len(), 1, "{changes:#?}");
    changes.into_iter().next().unwrap_or_else(|| unreachable!())
}

fn inputs_change(old: Value, old_req: &[&str], new: Value, new_req: &[&str]) -> Change {
    only(diff_section(
        "inputs",
        root(old, old_req, json!({})),
        root(new, new_req, json!({})),
    ))
}

fn assert_breaks(change: &Change, rule: &str) {
    assert_eq!(change.severity, Severity::Breaking, "{change}");
    assert_eq!(change.rule, Some(rule), "{change}");
    assert_eq!(change.bump(), Bump::Major);
}

fn assert_compatible(change: &Change, bump: Bump) {
    assert_eq!(change.severity, Severity::Compatible, "{change}");
    assert_eq!(change.rule, None);
    assert_eq!(change.bump(), bump, "{change}");
}

// ---- no change ----

#[test]
fn equal_details_have_no_changes() {
    let d = detail_with("inputs", root(json!({"a": string("A")}), &["a"], json!({})));
    assert_eq!(diff(&d, &d), []);
}

// ---- inputs ----

#[test]
fn required_input_added_breaks() {
    let c = inputs_change(json!({}), &[], json!({"name": string("Name")}), &["name"]);
    assert_eq!(c.kind, ChangeKind::RequiredAdded);
    assert_eq!(c.path, "name");
    assert_eq!(c.section, Section::InputsSchema);
    assert_breaks(&c, rules::ADD_REQUIRED_INPUT);
    assert_eq!(
        c.to_string(),
        r#"inputs.name: required input added — breaks "adding a required input""#
    );
}

#[test]
fn required_input_removed_breaks() {
    let c = inputs_change(json!({"name": string("Name")}), &["name"], json!({}), &[]);
    assert_eq!(c.kind, ChangeKind::RequiredRemoved);
    assert_breaks(&c, rules::REMOVE_REQUIRED_INPUT);
    assert_eq!(c.what(), "required input removed");
}

#[test]
fn optional_input_added_is_compatible() {
    let c = inputs_change(json!({}), &[], json!({"tag": string("Tag")}), &[]);
    assert_eq!(c.kind, ChangeKind::OptionalAdded);
    assert_compatible(&c, Bump::Minor);
    assert_eq!(
        c.to_string(),
        "inputs.tag: optional input added — compatible"
    );
}

/// The Python rules list only the removal of a *required* input: stored inputs still validate
/// (unknown keys are ignored), and callers that still send the key are not rejected.
#[test]
fn optional_input_removed_is_compatible() {
    let c = inputs_change(json!({"tag": string("Tag")}), &[], json!({}), &[]);
    assert_eq!(c.kind, ChangeKind::OptionalRemoved);
    assert_compatible(&c, Bump::Minor);
}

#[test]
fn removing_a_default_makes_the_input_required_and_breaks() {
    let old = json!({"hello": {"title": "Hello", "default": "world", "type": "string"}});
    let c = inputs_change(old, &[], json!({"hello": string("Hello")}), &["hello"]);
    // Reported once: the default's removal is what made it required.
    assert_eq!(c.kind, ChangeKind::BecameRequired);
    assert_breaks(&c, rules::ADD_REQUIRED_INPUT);
    assert_eq!(c.what(), "input became required");
}

#[test]
fn option_to_t_makes_the_input_required_and_breaks() {
    let c = inputs_change(
        json!({"tag": string("Tag")}),
        &[],
        json!({"tag": string("Tag")}),
        &["tag"],
    );
    assert_eq!(c.kind, ChangeKind::BecameRequired);
    assert_breaks(&c, rules::ADD_REQUIRED_INPUT);
}

#[test]
fn input_became_optional_is_compatible() {
    let new = json!({"tag": {"title": "Tag", "default": "x", "type": "string"}});
    let c = inputs_change(json!({"tag": string("Tag")}), &["tag"], new, &[]);
    assert_eq!(c.kind, ChangeKind::BecameOptional);
    assert_compatible(&c, Bump::Minor);
}

#[test]
fn input_type_changed_breaks_the_form_data_structure() {
    let c = inputs_change(
        json!({"id": string("Id")}),
        &["id"],
        json!({"id": {"title": "Id", "type": "integer"}}),
        &["id"],
    );
    assert_eq!(
        c.kind,
        ChangeKind::TypeChanged {
            old: "string".into(),
            new: "integer".into()
        }
    );
    assert_breaks(&c, rules::CHANGE_FORM_DATA_STRUCTURE);
    assert_eq!(
        c.to_string(),
        r#"inputs.id: type changed from string to integer — breaks "changing the form data structure""#
    );
}

#[test]
fn input_integer_to_number_is_a_compatible_widening() {
    let c = inputs_change(
        json!({"n": {"title": "N", "type": "integer"}}),
        &["n"],
        json!({"n": {"title": "N", "type": "number"}}),
        &["n"],
    );
    assert_eq!(
        c.kind,
        ChangeKind::TypeWidened {
            old: "integer".into(),
            new: "number".into()
        }
    );
    assert_compatible(&c, Bump::Minor);
}

#[test]
fn input_number_to_integer_breaks() {
    let c = inputs_change(
        json!({"n": {"title": "N", "type": "number"}}),
        &["n"],
        json!({"n": {"title": "N", "type": "integer"}}),
        &["n"],
    );
    assert!(matches!(c.kind, ChangeKind::TypeChanged { .. }));
    assert_breaks(&c, rules::CHANGE_FORM_DATA_STRUCTURE);
}

#[test]
fn input_to_any_is_a_compatible_widening() {
    // `String` → `serde_json::Value`: also no longer required.
    let changes = diff_section(
        "inputs",
        root(json!({"v": string("V")}), &["v"], json!({})),
        root(json!({"v": {"title": "V"}}), &[], json!({})),
    );
    let kinds: Vec<_> = changes.iter().map(|c| c.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            ChangeKind::BecameOptional,
            ChangeKind::TypeWidened {
                old: "string".into(),
                new: "any".into()
            }
        ]
    );
    assert!(changes.iter().all(|c| c.severity == Severity::Compatible));
}

#[test]
fn any_type_change_other_than_a_proven_widening_breaks() {
    // Extra keys (a custom FieldType's `format`) make it a different type.
    let c = inputs_change(
        json!({"at": string("At")}),
        &["at"],
        json!({"at": {"title": "At", "type": "string", "format": "date-time"}}),
        &["at"],
    );
    assert_eq!(
        c.kind,
        ChangeKind::TypeChanged {
            old: "string".into(),
            new: r#"{"type":"string","format":"date-time"}"#.into()
        }
    );
    assert_breaks(&c, rules::CHANGE_FORM_DATA_STRUCTURE);
    // integer → number with other keys changing too is not a widening.
    let c = inputs_change(
        json!({"n": {"title": "N", "type": "integer"}}),
        &["n"],
        json!({"n": {"title": "N", "type": "number", "format": "x"}}),
        &["n"],
    );
    assert_eq!(c.severity, Severity::Breaking);
}

#[test]
fn scalar_to_array_breaks() {
    let c = inputs_change(
        json!({"ids": {"title": "Ids", "type": "integer"}}),
        &["ids"],
        json!({"ids": {"title": "Ids", "type": "array", "items": {"type": "integer"}}}),
        &["ids"],
    );
    assert_eq!(
        c.kind,
        ChangeKind::TypeChanged {
            old: "integer".into(),
            new: "array of integer".into()
        }
    );
}

// ---- context inputs ----

#[test]
fn context_inputs_follow_the_input_rules_with_their_own_rule_text() {
    let ctx = |old: Value, old_req: &[&str], new: Value, new_req: &[&str]| {
        only(diff_section(
            "context_inputs",
            root(old, old_req, json!({})),
            root(new, new_req, json!({})),
        ))
    };
    let added = ctx(json!({}), &[], json!({"biz": string("Biz")}), &["biz"]);
    assert_eq!(added.section, Section::ContextInputsSchema);
    assert_eq!(added.kind, ChangeKind::RequiredAdded);
    assert_breaks(&added, rules::REQUIRED_CONTEXT_INPUT);
    assert_eq!(
        added.to_string(),
        r#"context_inputs.biz: required context input added — breaks "adding or removing a required context input""#
    );

    let removed = ctx(json!({"biz": string("Biz")}), &["biz"], json!({}), &[]);
    assert_eq!(removed.kind, ChangeKind::RequiredRemoved);
    assert_breaks(&removed, rules::REQUIRED_CONTEXT_INPUT);

    let required = ctx(
        json!({"biz": string("Biz")}),
        &[],
        json!({"biz": string("Biz")}),
        &["biz"],
    );
    assert_eq!(required.kind, ChangeKind::BecameRequired);
    assert_breaks(&required, rules::REQUIRED_CONTEXT_INPUT);

    let optional = ctx(json!({}), &[], json!({"info": string("Info")}), &[]);
    assert_eq!(optional.kind, ChangeKind::OptionalAdded);
    assert_compatible(&optional, Bump::Minor);
    assert_eq!(optional.what(), "optional context input added");

    let retyped = ctx(
        json!({"biz": string("Biz")}),
        &["biz"],
        json!({"biz": {"title": "Biz", "type": "integer"}}),
        &["biz"],
    );
    assert_breaks(&retyped, rules::CHANGE_FORM_DATA_STRUCTURE);
}

// ---- outputs ----

fn outputs_change(old: Value, old_req: &[&str], new: Value, new_req: &[&str]) -> Change {
    only(diff_section(
        "outputs",
        root(old, old_req, json!({})),
        root(new, new_req, json!({})),
    ))
}

#[test]
fn output_removed_breaks() {
    let c = outputs_change(json!({"url": string("Url")}), &["url"], json!({}), &[]);
    assert_eq!(c.kind, ChangeKind::RequiredRemoved);
    assert_breaks(&c, rules::REMOVE_OUTPUT);
    assert_eq!(
        c.to_string(),
        r#"outputs.url: output removed — breaks "removing an output""#
    );
    let optional = outputs_change(json!({"url": string("Url")}), &[], json!({}), &[]);
    assert_breaks(&optional, rules::REMOVE_OUTPUT);
}

#[test]
fn output_added_is_compatible() {
    let c = outputs_change(json!({}), &[], json!({"url": string("Url")}), &["url"]);
    assert_eq!(c.kind, ChangeKind::RequiredAdded);
    assert_compatible(&c, Bump::Minor);
    assert_eq!(c.what(), "output added");
    let optional = outputs_change(json!({}), &[], json!({"url": string("Url")}), &[]);
    assert_compatible(&optional, Bump::Minor);
}

#[test]
fn output_type_changed_breaks_even_when_it_widens() {
    let c = outputs_change(
        json!({"id": {"title": "Id", "type": "integer"}}),
        &["id"],
        json!({"id": string("Id")}),
        &["id"],
    );
    assert!(matches!(c.kind, ChangeKind::TypeChanged { .. }));
    assert_breaks(&c, rules::CHANGE_OUTPUT_TYPE);
    let widened = outputs_change(
        json!({"id": {"title": "Id", "type": "integer"}}),
        &["id"],
        json!({"id": {"title": "Id", "type": "number"}}),
        &["id"],
    );
    assert!(matches!(widened.kind, ChangeKind::TypeWidened { .. }));
    assert_breaks(&widened, rules::CHANGE_OUTPUT_TYPE);
}

#[test]
fn output_that_may_now_be_null_breaks_and_one_that_no_longer_can_is_compatible() {
    let optional = outputs_change(
        json!({"id": string("Id")}),
        &["id"],
        json!({"id": string("Id")}),
        &[],
    );
    assert_eq!(optional.kind, ChangeKind::BecameOptional);
    assert_breaks(&optional, rules::CHANGE_OUTPUT_TYPE);
    assert_eq!(
        optional.what(),
        "output became optional (it may now be null)"
    );
    let required = outputs_change(
        json!({"id": string("Id")}),
        &[],
        json!({"id": string("Id")}),
        &["id"],
    );
    assert_eq!(required.kind, ChangeKind::BecameRequired);
    assert_compatible(&required, Bump::Minor);
}

// ---- annotations ----

#[test]
fn title_changed_is_cosmetic() {
    let c = inputs_change(
        json!({"a": string("A")}),
        &["a"],
        json!({"a": string("Alpha")}),
        &["a"],
    );
    assert_eq!(
        c.kind,
        ChangeKind::TitleChanged {
            old: "A".into(),
            new: "Alpha".into()
        }
    );
    assert_compatible(&c, Bump::Patch);
    assert_eq!(
        c.to_string(),
        r#"inputs.a: title changed from "A" to "Alpha" — compatible"#
    );
    // Outputs too.
    let c = outputs_change(
        json!({"a": string("A")}),
        &["a"],
        json!({"a": string("Alpha")}),
        &["a"],
    );
    assert_compatible(&c, Bump::Patch);
}

#[test]
fn description_changed_is_cosmetic() {
    let c = inputs_change(
        json!({"a": string("A")}),
        &["a"],
        json!({"a": {"title": "A", "description": "the a", "type": "string"}}),
        &["a"],
    );
    assert_eq!(c.kind, ChangeKind::DescriptionChanged);
    assert_compatible(&c, Bump::Patch);
}

#[test]
fn default_changed_is_compatible_with_the_resume_caveat() {
    let c = inputs_change(
        json!({"n": {"title": "N", "default": 1, "type": "integer"}}),
        &[],
        json!({"n": {"title": "N", "default": 2, "type": "integer"}}),
        &[],
    );
    assert_eq!(
        c.kind,
        ChangeKind::DefaultChanged {
            old: Some(json!(1)),
            new: Some(json!(2))
        }
    );
    assert_compatible(&c, Bump::Minor);
    assert_eq!(
        c.to_string(),
        "inputs.n: default changed from 1 to 2 — compatible, but running invocations get the new \
         default at their next resume"
    );
    // A default added to an `Option<T>` (optional either way) is a default change.
    let c = inputs_change(
        json!({"t": string("T")}),
        &[],
        json!({"t": {"title": "T", "default": "x", "type": "string"}}),
        &[],
    );
    assert_eq!(
        c.kind,
        ChangeKind::DefaultChanged {
            old: None,
            new: Some(json!("x"))
        }
    );
    assert_eq!(c.what(), r#"default changed from none to "x""#);
}

// ---- form and plugin ----

fn with_form(form: Option<&str>) -> Value {
    let mut d = detail_with("inputs", root(json!({}), &[], json!({})));
    d["forms"]["renderform"] = json!(form);
    d
}

#[test]
fn form_changed_breaks_unless_identical() {
    let c = only(diff(&with_form(Some("a")), &with_form(Some("b"))));
    assert_eq!(c.section, Section::Form);
    assert_eq!(c.path, "renderform");
    assert_eq!(
        c.kind,
        ChangeKind::FormChanged {
            old_sha256: Some(sha256_hex("a")),
            new_sha256: Some(sha256_hex("b"))
        }
    );
    assert_breaks(&c, rules::CHANGE_FORM_DATA_STRUCTURE);
    assert_eq!(
        c.to_string(),
        r#"forms.renderform: form changed — breaks "changing the form data structure""#
    );
    assert_eq!(diff(&with_form(Some("a")), &with_form(Some("a"))), []);
    assert_eq!(
        only(diff(&with_form(None), &with_form(Some("a")))).what(),
        "form added"
    );
    assert_eq!(
        only(diff(&with_form(Some("a")), &with_form(None))).what(),
        "form removed"
    );
}

#[test]
fn a_lock_entry_and_a_detail_compare_forms_by_hash() {
    let detail = with_form(Some("form text"));
    let entry = LockEntry::from_detail(&detail).to_json();
    assert_eq!(entry["form_sha256"], json!(sha256_hex("form text")));
    assert_eq!(diff(&entry, &detail), []);
    // Windows line endings hash like Unix ones.
    assert_eq!(sha256_hex("a\r\nb\n"), sha256_hex("a\nb\n"));
    assert_eq!(diff(&detail, &entry), []);
    assert_eq!(
        only(diff(&entry, &with_form(Some("other")))).path,
        "renderform"
    );
}

/// A lock entry holding the form's text (`form`, in place of `form_sha256`) instead of its
/// hash.
fn text_entry(form: Option<&str>) -> Value {
    let e = LockEntry::from_detail(&with_form(form)).to_json();
    let o = e.as_object().unwrap_or_else(|| unreachable!());
    let entry: serde_json::Map<String, Value> = o
        .iter()
        .map(|(k, v)| match k.as_str() {
            "form_sha256" => ("form".to_owned(), json!(form)),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    Value::Object(entry)
}

/// A lock entry JSON read and written as the file would.
fn parsed_entry(e: &Value) -> LockEntry {
    serde_json::from_value(e.clone()).unwrap_or_else(|err| panic!("{err}"))
}

#[test]
fn a_form_held_as_text_compares_like_its_hash() {
    let detail = with_form(Some("form text"));
    let hashed = LockEntry::from_detail(&detail);
    let text = parsed_entry(&text_entry(Some("form text")));
    assert_eq!(text.form.as_deref(), Some("form text"));
    assert_eq!(text.form_sha256, None);
    assert!(text.has_form_text() && !hashed.has_form_text());
    assert_eq!(text.form_hash(), Some(sha256_hex("form text")));
    assert_eq!(text.form_hash(), hashed.form_hash());
    // Against the detail, against the hashed entry, both ways, as JSON and as read.
    for entry in [text_entry(Some("form text")), text.to_json()] {
        assert_eq!(diff(&entry, &detail), []);
        assert_eq!(diff(&detail, &entry), []);
        assert_eq!(diff(&entry, &hashed.to_json()), []);
        assert_eq!(diff(&hashed.to_json(), &entry), []);
    }
    // Windows line endings in the text hash like Unix ones, as in a detail.
    let crlf = with_form(Some("a\r\nb\n"));
    assert_eq!(diff(&text_entry(Some("a\nb\n")), &crlf), []);
    // No form: `form: null`, an absent key, and `form_sha256: null` are the same.
    let mut absent = text_entry(None);
    absent.as_object_mut().map(|o| o.remove("form"));
    for no_form in [text_entry(None), absent] {
        assert_eq!(parsed_entry(&no_form).form_hash(), None);
        assert_eq!(diff(&no_form, &with_form(None)), []);
        assert_eq!(
            diff(
                &no_form,
                &LockEntry::from_detail(&with_form(None)).to_json()
            ),
            []
        );
        assert_eq!(
            only(diff(&no_form, &detail)).what(),
            "form added",
            "{no_form}"
        );
    }
}

#[test]
fn a_changed_form_text_is_a_form_change() {
    let entry = text_entry(Some("form text"));
    let c = only(diff(&entry, &with_form(Some("form text, edited"))));
    assert_eq!(
        c.kind,
        ChangeKind::FormChanged {
            old_sha256: Some(sha256_hex("form text")),
            new_sha256: Some(sha256_hex("form text, edited"))
        }
    );
    assert_breaks(&c, rules::CHANGE_FORM_DATA_STRUCTURE);
    // Exactly the change a hashed entry reports.
    let hashed = LockEntry::from_detail(&with_form(Some("form text"))).to_json();
    assert_eq!(diff(&hashed, &with_form(Some("form text, edited"))), [c]);
    assert_eq!(only(diff(&entry, &with_form(None))).what(), "form removed");
    assert_eq!(
        only(diff(
            &parsed_entry(&entry).to_json(),
            &text_entry(Some("other"))
        ))
        .path,
        "renderform"
    );
}

#[test]
fn desc_changed_is_cosmetic() {
    let old = with_form(None);
    let mut new = old.clone();
    new["desc"] = json!("another description");
    let c = only(diff(&old, &new));
    assert_eq!((c.section, c.path.as_str()), (Section::PluginMeta, "desc"));
    assert_eq!(c.kind, ChangeKind::DescChanged);
    assert_compatible(&c, Bump::Patch);
    assert_eq!(c.to_string(), "desc: desc changed — compatible");
}

/// Deprecating a version (or bringing it back) is compatible: pinned callers keep working.
#[test]
fn a_status_change_is_compatible_and_shown() {
    let released = with_form(None);
    let mut deprecated = released.clone();
    deprecated["deprecated"] = json!("use 2.0.0");
    let c = only(diff(&released, &deprecated));
    assert_eq!(
        (c.section, c.path.as_str()),
        (Section::PluginMeta, "deprecated")
    );
    assert_eq!(
        c.kind,
        ChangeKind::StatusChanged {
            old: None,
            new: Some("use 2.0.0".into())
        }
    );
    assert_compatible(&c, Bump::Patch);
    assert_eq!(
        c.to_string(),
        r#"deprecated: status changed from released to deprecated ("use 2.0.0") — compatible"#
    );
    let back = only(diff(&deprecated, &released));
    assert_eq!(
        back.what(),
        r#"status changed from deprecated ("use 2.0.0") to released"#
    );
    // The lock entry records the status, and only when deprecated.
    let entry = LockEntry::from_detail(&deprecated);
    assert_eq!(entry.deprecated.as_deref(), Some("use 2.0.0"));
    assert_eq!(entry.to_json()["deprecated"], "use 2.0.0");
    assert_eq!(parsed_entry(&entry.to_json()), entry);
    assert_eq!(diff(&entry.to_json(), &deprecated), []);
    let plain = LockEntry::from_detail(&released).to_json();
    assert!(plain.get("deprecated").is_none(), "{plain}");
    // An entry without the key (a lock written before statuses) reads as released.
    assert_eq!(parsed_entry(&plain).deprecated, None);
}

#[test]
fn turning_on_enable_plugin_callback_breaks() {
    let old = with_form(None);
    let mut new = old.clone();
    new["enable_plugin_callback"] = json!(true);
    let c = only(diff(&old, &new));
    assert_eq!(c.kind, ChangeKind::CallbackEnabled);
    assert_breaks(&c, rules::ENABLE_PLUGIN_CALLBACK);
    assert_eq!(
        c.to_string(),
        r#"enable_plugin_callback: enable_plugin_callback turned on — breaks "turning on enable_plugin_callback""#
    );
}

/// Callers that registered for the finish callback would never be called.
#[test]
fn turning_off_enable_plugin_callback_breaks() {
    let mut old = with_form(None);
    old["enable_plugin_callback"] = json!(true);
    let c = only(diff(&old, &with_form(None)));
    assert_eq!(c.kind, ChangeKind::CallbackDisabled);
    assert_breaks(&c, rules::DRASTIC_FUNCTIONAL_CHANGE);
}

// ---- nested models ----

fn options_def(title: &str, properties: Value, required: &[&str]) -> Value {
    json!({title: {"title": title, "type": "object", "properties": properties, "required": required}})
}

#[test]
fn nested_model_fields_are_walked_with_dotted_paths() {
    let old = root(
        json!({"options": {"$ref": "#/definitions/Options"}}),
        &["options"],
        options_def(
            "Options",
            json!({"name": string("Name"), "value": string("Value")}),
            &["name", "value"],
        ),
    );
    let new = root(
        json!({"options": {"$ref": "#/definitions/Options"}}),
        &["options"],
        options_def(
            "Options",
            json!({"value": string("Value"), "extra": string("Extra")}),
            &["value", "extra"],
        ),
    );
    let changes = diff_section("inputs", old, new);
    let lines: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            r#"inputs.options.name: required input removed — breaks "removing a required input""#,
            r#"inputs.options.extra: required input added — breaks "adding a required input""#,
        ]
    );
}

#[test]
fn ref_and_all_of_are_the_same_model() {
    let defs = options_def("Options", json!({"name": string("Name")}), &["name"]);
    let bare = root(
        json!({"options": {"$ref": "#/definitions/Options"}}),
        &["options"],
        defs.clone(),
    );
    // `#[field(description = ..)]` on the field: pydantic wraps the reference in `allOf`.
    let wrapped = root(
        json!({"options": {"title": "Options", "description": "how to run",
                           "allOf": [{"$ref": "#/definitions/Options"}]}}),
        &["options"],
        defs,
    );
    let c = only(diff_section("inputs", bare, wrapped));
    assert_eq!(c.kind, ChangeKind::DescriptionChanged);
    assert_eq!(c.path, "options");
    // The nested fields are still compared through `allOf`, in either direction.
    let changes = diff_section(
        "inputs",
        root(
            json!({"options": {"title": "Options", "description": "how to run",
                               "allOf": [{"$ref": "#/definitions/Options"}]}}),
            &["options"],
            options_def("Options", json!({"name": string("Name")}), &["name"]),
        ),
        root(
            json!({"options": {"$ref": "#/definitions/Options"}}),
            &["options"],
            options_def("Options", json!({"name": string("Name")}), &[]),
        ),
    );
    let kinds: Vec<_> = changes.iter().map(|c| (c.path.as_str(), &c.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("options", &ChangeKind::DescriptionChanged),
            ("options.name", &ChangeKind::BecameOptional)
        ]
    );
}

#[test]
fn a_renamed_definition_with_the_same_shape_is_no_change() {
    let old = root(
        json!({"options": {"$ref": "#/definitions/Options"}}),
        &["options"],
        options_def("Options", json!({"name": string("Name")}), &["name"]),
    );
    let new = root(
        json!({"options": {"$ref": "#/definitions/mod__Options"}}),
        &["options"],
        options_def("mod__Options", json!({"name": string("Name")}), &["name"]),
    );
    assert_eq!(diff_section("inputs", old, new), []);
}

#[test]
fn a_nested_model_description_is_a_description_change() {
    let mut new_def = options_def("Options", json!({"name": string("Name")}), &["name"]);
    new_def["Options"]["description"] = json!("Run options.");
    let old = root(
        json!({"options": {"$ref": "#/definitions/Options"}}),
        &["options"],
        options_def("Options", json!({"name": string("Name")}), &["name"]),
    );
    let new = root(
        json!({"options": {"$ref": "#/definitions/Options"}}),
        &["options"],
        new_def,
    );
    let c = only(diff_section("inputs", old, new));
    assert_eq!(
        (c.path.as_str(), &c.kind),
        ("options", &ChangeKind::DescriptionChanged)
    );
}

#[test]
fn model_to_scalar_is_a_type_change() {
    let old = root(
        json!({"options": {"$ref": "#/definitions/Options"}}),
        &["options"],
        options_def("Options", json!({"name": string("Name")}), &["name"]),
    );
    let new = root(
        json!({"options": string("Options")}),
        &["options"],
        json!({}),
    );
    let c = only(diff_section("inputs", old, new));
    assert_eq!(
        c.kind,
        ChangeKind::TypeChanged {
            old: "model Options".into(),
            new: "string".into()
        }
    );
    assert_breaks(&c, rules::CHANGE_FORM_DATA_STRUCTURE);
}

#[test]
fn array_items_and_map_values_are_walked() {
    let host = |props: Value, req: &[&str]| options_def("Host", props, req);
    let schema = |host_def: Value| {
        root(
            json!({
                "hosts": {"title": "Hosts", "type": "array", "items": {"$ref": "#/definitions/Host"}},
                "labels": {"title": "Labels", "type": "object", "additionalProperties": {"type": "integer"}},
            }),
            &["hosts", "labels"],
            host_def,
        )
    };
    let old = schema(host(json!({"ip": string("Ip")}), &["ip"]));
    let new = schema(host(json!({}), &[]));
    let c = only(diff_section("inputs", old.clone(), new));
    assert_eq!(c.location(), "inputs.hosts[].ip");
    assert_eq!(c.kind, ChangeKind::RequiredRemoved);

    let mut new = old.clone();
    new["properties"]["labels"]["additionalProperties"] = json!({"type": "string"});
    let c = only(diff_section("inputs", old, new));
    assert_eq!(c.location(), "inputs.labels{}");
    assert_eq!(
        c.kind,
        ChangeKind::TypeChanged {
            old: "integer".into(),
            new: "string".into()
        }
    );
}

#[test]
fn recursive_models_terminate() {
    let tree = |extra: bool| {
        let mut props = json!({"children": {"title": "Children", "type": "array",
                                            "items": {"$ref": "#/definitions/Tree"}}});
        if extra {
            props["label"] = string("Label");
        }
        root(
            json!({"tree": {"$ref": "#/definitions/Tree"}}),
            &["tree"],
            options_def("Tree", props, &[]),
        )
    };
    assert_eq!(diff_section("inputs", tree(false), tree(false)), []);
    let c = only(diff_section("inputs", tree(false), tree(true)));
    assert_eq!(c.location(), "inputs.tree.label");
    assert_eq!(c.kind, ChangeKind::OptionalAdded);
}

// ---- bump suggestion ----

#[test]
fn breaking_suggests_the_next_major() {
    let changes = [
        Change::new(Section::InputsSchema, "a", ChangeKind::DescriptionChanged),
        Change::new(Section::OutputsSchema, "b", ChangeKind::RequiredRemoved),
    ];
    assert_eq!(
        suggest_bump(&Version::new(1, 4, 2), &changes),
        Some(Version::new(2, 0, 0))
    );
}

#[test]
fn compatible_non_cosmetic_suggests_the_next_minor() {
    for kind in [
        ChangeKind::OptionalAdded,
        ChangeKind::OptionalRemoved,
        ChangeKind::BecameOptional,
        ChangeKind::DefaultChanged {
            old: None,
            new: Some(json!(1)),
        },
        ChangeKind::TypeWidened {
            old: "integer".into(),
            new: "number".into(),
        },
    ] {
        let changes = [
            Change::new(Section::InputsSchema, "a", ChangeKind::DescriptionChanged),
            Change::new(Section::InputsSchema, "b", kind),
        ];
        assert_eq!(
            suggest_bump(&Version::new(1, 4, 2), &changes),
            Some(Version::new(1, 5, 0))
        );
    }
    let output = [Change::new(
        Section::OutputsSchema,
        "x",
        ChangeKind::RequiredAdded,
    )];
    assert_eq!(
        suggest_bump(&Version::new(1, 4, 2), &output),
        Some(Version::new(1, 5, 0))
    );
}

#[test]
fn cosmetic_only_suggests_the_next_patch() {
    let changes = [
        Change::new(
            Section::InputsSchema,
            "a",
            ChangeKind::TitleChanged {
                old: "A".into(),
                new: "B".into(),
            },
        ),
        Change::new(Section::PluginMeta, "desc", ChangeKind::DescChanged),
    ];
    assert_eq!(
        suggest_bump(&Version::new(1, 4, 2), &changes),
        Some(Version::new(1, 4, 3))
    );
}

#[test]
fn no_changes_suggest_nothing() {
    assert_eq!(suggest_bump(&Version::new(1, 0, 0), &[]), None);
}

#[test]
fn pre_releases_are_bumped_to_plain_versions() {
    let v = Version::parse("1.0.0-rc.1").unwrap_or_else(|e| panic!("{e}"));
    let breaking = [Change::new(
        Section::InputsSchema,
        "a",
        ChangeKind::RequiredAdded,
    )];
    assert_eq!(suggest_bump(&v, &breaking), Some(Version::new(2, 0, 0)));
}

#[test]
fn lock_suggestions_skip_versions_in_use() {
    let breaking = [Change::new(
        Section::InputsSchema,
        "a",
        ChangeKind::RequiredAdded,
    )];
    let minor = [Change::new(
        Section::InputsSchema,
        "a",
        ChangeKind::OptionalAdded,
    )];
    let taken = [
        Version::new(1, 0, 0),
        Version::new(1, 1, 0),
        Version::new(2, 1, 0),
    ];
    let v1 = Version::new(1, 0, 0);
    assert_eq!(
        suggest_free(&v1, &breaking, taken.iter()),
        Some(Version::new(3, 0, 0))
    );
    assert_eq!(
        suggest_free(&v1, &minor, taken.iter()),
        Some(Version::new(1, 2, 0))
    );
}

// ---- lock file ----

fn entry(desc: &str) -> Value {
    let mut e = LockEntry::from_detail(&with_form(Some("f"))).to_json();
    e["desc"] = json!(desc);
    e
}

#[test]
fn lock_file_round_trips_newest_first_with_a_trailing_newline() {
    let text = json!({"format": 1, "versions": {"1.0.0": entry("one"), "1.10.0": entry("ten"), "1.9.0": entry("nine")}})
        .to_string();
    let lock = Lock::from_json_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        lock.versions().collect::<Vec<_>>(),
        ["1.10.0", "1.9.0", "1.0.0"]
    );
    assert_eq!(lock.get("1.9.0").map(|e| e.desc.as_str()), Some("nine"));
    let written = lock.to_json_string();
    assert!(written.ends_with("}\n"));
    assert!(written.starts_with(
        "{\n  \"format\": 1,\n  \"versions\": {\n    \"1.10.0\": {\n      \"inputs\""
    ));
    let keys: Vec<String> = serde_json::from_str::<Value>(&written)
        .unwrap_or_else(|e| panic!("{e}"))["versions"]["1.0.0"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "inputs",
            "context_inputs",
            "outputs",
            "form_sha256",
            "desc",
            "enable_plugin_callback"
        ]
    );
    assert_eq!(Lock::from_json_str(&written), Ok(lock));
}

#[test]
fn invalid_lock_files_are_rejected_with_the_reason() {
    let err = |v: Value| Lock::from_json_str(&v.to_string()).unwrap_err().reason;
    assert!(err(json!({"format": 2, "versions": {}})).starts_with("unsupported format 2"));
    assert!(
        err(json!({"format": 1, "versions": {"v1": entry("x")}}))
            .starts_with("`v1` is not a plugin version")
    );
    let mut missing = entry("x");
    missing.as_object_mut().map(|o| o.remove("desc"));
    assert_eq!(
        err(json!({"format": 1, "versions": {"1.0.0": missing}})),
        "versions.\"1.0.0\": missing field `desc`"
    );
    assert!(err(json!({"versions": {}})).contains("missing field `format`"));
    let mut unknown = entry("x");
    unknown["extra"] = json!(1);
    assert!(
        err(json!({"format": 1, "versions": {"1.0.0": unknown}})).contains("unknown field `extra`")
    );
}

#[test]
fn a_lock_entry_with_both_form_keys_is_rejected() {
    let err = |v: Value| Lock::from_json_str(&v.to_string()).unwrap_err().reason;
    let both = "versions.\"1.0.0\": both `form` and `form_sha256` are present; keep one: `form` \
                holds the form's text, `form_sha256` its SHA-256";
    let mut e = text_entry(Some("f"));
    e["form_sha256"] = json!(sha256_hex("f"));
    assert_eq!(err(json!({"format": 1, "versions": {"1.0.0": e}})), both);
    // Present is present, `null` or not.
    let mut nulls = text_entry(None);
    nulls["form_sha256"] = Value::Null;
    assert_eq!(
        err(json!({"format": 1, "versions": {"1.0.0": nulls}})),
        both
    );
    // Other keys are still checked.
    let mut unknown = text_entry(Some("f"));
    unknown["form_text"] = json!("f");
    assert!(
        err(json!({"format": 1, "versions": {"1.0.0": unknown}}))
            .contains("unknown field `form_text`")
    );
    let mut not_text = text_entry(Some("f"));
    not_text["form"] = json!(1);
    assert!(
        err(json!({"format": 1, "versions": {"1.0.0": not_text}}))
            .starts_with("versions.\"1.0.0\": invalid type: integer `1`, expected a string")
    );
}

#[test]
fn a_form_held_as_text_round_trips_as_text() {
    let form = "(function () {\n    $.atoms[\"app\"] = [];\n})();\n";
    let text = json!({"format": 1, "versions": {
        "1.1.0": entry("hashed"),
        "1.0.0": text_entry(Some(form)),
        "0.9.0": text_entry(None),
    }});
    let text = serde_json::to_string_pretty(&text).unwrap_or_else(|e| panic!("{e}")) + "\n";
    let lock = Lock::from_json_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        lock.get("1.0.0").and_then(|e| e.form.as_deref()),
        Some(form)
    );
    // Written back unchanged: same keys, same order, same text.
    assert_eq!(lock.to_json_string(), text);
    let written: Value =
        serde_json::from_str(&lock.to_json_string()).unwrap_or_else(|e| panic!("{e}"));
    let keys = |v: &str| -> Vec<String> {
        written["versions"][v]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let with_text = [
        "inputs",
        "context_inputs",
        "outputs",
        "form",
        "desc",
        "enable_plugin_callback",
    ];
    assert_eq!(keys("1.0.0"), with_text);
    assert_eq!(written["versions"]["1.0.0"]["form"], json!(form));
    assert_eq!(keys("0.9.0"), with_text);
    assert_eq!(written["versions"]["0.9.0"]["form"], Value::Null);
    assert_eq!(
        written["versions"]["1.1.0"]["form_sha256"],
        json!(sha256_hex("f"))
    );
    assert_eq!(
        Lock::from_json_str(&lock.to_json_string()),
        Ok(lock.clone())
    );
    // Serde on an entry alone does the same.
    let entry = lock.get("1.0.0").unwrap_or_else(|| unreachable!());
    let value = serde_json::to_value(entry).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(value, text_entry(Some(form)));
    assert_eq!(&parsed_entry(&value), entry);
    // Entries made from a detail keep the hash.
    assert!(LockEntry::from_detail(&with_form(Some(form))).to_json()["form_sha256"].is_string());
}

#[test]
fn missing_and_changed_lines_name_the_version_and_the_fix() {
    let missing = LockProblem::Missing {
        version: "0.9.0".into(),
    };
    assert!(missing.is_breaking());
    assert!(
        missing
            .to_string()
            .starts_with("0.9.0: locked version missing from the binary — ")
    );
    let new = LockProblem::New {
        version: "1.2.0".into(),
    };
    assert!(!new.is_breaking());
    assert_eq!(
        new.to_string(),
        "1.2.0: new version, not in the lock — run with BK_PLUGIN_UPDATE_LOCK=1 to add it"
    );
    let changed = LockProblem::Changed {
        version: "1.0.0".into(),
        changes: vec![
            Change::new(
                Section::InputsSchema,
                "options.name",
                ChangeKind::RequiredRemoved,
            ),
            Change::new(Section::InputsSchema, "tag", ChangeKind::DescriptionChanged),
        ],
        suggestion: Some(Version::new(2, 0, 0)),
    };
    assert_eq!(
        changed.to_string(),
        "1.0.0: inputs.options.name: required input removed — breaks \"removing a required \
         input\"; release it as 2.0.0 instead\n1.0.0: inputs.tag: description changed — compatible"
    );
    let compatible = LockProblem::Changed {
        version: "1.0.0".into(),
        changes: vec![Change::new(
            Section::InputsSchema,
            "tag",
            ChangeKind::DescriptionChanged,
        )],
        suggestion: Some(Version::new(1, 0, 1)),
    };
    assert!(!compatible.is_breaking());
    assert_eq!(
        compatible.to_string(),
        "1.0.0: inputs.tag: description changed — compatible; run with BK_PLUGIN_UPDATE_LOCK=1 \
         to record it in the lock"
    );
}

// ---- choices and constraints (#[derive(Choice)], #[field(ge = ..)]) ----

/// A field referencing a string enum definition with `members`.
fn enum_root(members: Value) -> Value {
    root(
        json!({"action": {"$ref": "#/definitions/Action"}}),
        &["action"],
        json!({"Action": {"title": "Action", "description": "An enumeration.", "enum": members, "type": "string"}}),
    )
}

#[test]
fn input_enum_member_added_is_a_compatible_widening() {
    let c = only(diff_section(
        "inputs",
        enum_root(json!(["start", "stop"])),
        enum_root(json!(["start", "stop", "pause"])),
    ));
    assert_eq!(
        c.kind,
        ChangeKind::TypeWidened {
            old: r#"one of "start", "stop""#.into(),
            new: r#"one of "start", "stop", "pause""#.into()
        }
    );
    assert_compatible(&c, Bump::Minor);
}

#[test]
fn input_enum_member_removed_breaks() {
    let c = only(diff_section(
        "inputs",
        enum_root(json!(["start", "stop"])),
        enum_root(json!(["start"])),
    ));
    assert!(matches!(c.kind, ChangeKind::TypeChanged { .. }));
    assert_breaks(&c, rules::CHANGE_FORM_DATA_STRUCTURE);
}

#[test]
fn output_enum_member_added_breaks() {
    let c = only(diff_section(
        "outputs",
        enum_root(json!(["ok"])),
        enum_root(json!(["ok", "partial"])),
    ));
    assert_breaks(&c, rules::CHANGE_OUTPUT_TYPE);
}

#[test]
fn input_constraint_added_or_tightened_breaks() {
    let plain = json!({"n": {"title": "N", "type": "integer"}});
    let ge1 = json!({"n": {"title": "N", "minimum": 1, "type": "integer"}});
    let ge2 = json!({"n": {"title": "N", "minimum": 2, "type": "integer"}});
    let pattern = json!({"s": {"title": "S", "pattern": "^a", "type": "string"}});
    let string = json!({"s": {"title": "S", "type": "string"}});
    for (old, new) in [(&plain, &ge1), (&ge1, &ge2), (&string, &pattern)] {
        let key = if old.get("n").is_some() { "n" } else { "s" };
        let c = inputs_change(old.clone(), &[key], new.clone(), &[key]);
        assert!(matches!(c.kind, ChangeKind::TypeChanged { .. }), "{c}");
        assert_breaks(&c, rules::CHANGE_FORM_DATA_STRUCTURE);
    }
}

#[test]
fn input_constraint_relaxed_or_dropped_is_a_compatible_widening() {
    let cases = [
        (
            json!({"minimum": 2, "type": "integer"}),
            json!({"minimum": 1, "type": "integer"}),
        ),
        (
            json!({"maxLength": 3, "type": "string"}),
            json!({"maxLength": 8, "type": "string"}),
        ),
        (
            json!({"pattern": "^a", "type": "string"}),
            json!({"type": "string"}),
        ),
        (
            json!({"minItems": 1, "type": "array", "items": {"type": "integer"}}),
            json!({"type": "array", "items": {"type": "integer"}}),
        ),
    ];
    for (old, new) in cases {
        let c = inputs_change(json!({ "v": old }), &["v"], json!({ "v": new }), &["v"]);
        assert!(matches!(c.kind, ChangeKind::TypeWidened { .. }), "{c}");
        assert_compatible(&c, Bump::Minor);
    }
}
