//! The classification of `ui:*` form keys (`#[field(form = {..})]`, the Python `InputsForm`):
//! set apart from the field's type, and any change of them breaks "changing the form data
//! structure", like an edit of `form.js`.

use serde_json::{Value, json};

use super::*;

fn inputs(properties: Value) -> Value {
    let empty = json!({"type": "object", "properties": {}, "required": [], "definitions": {}});
    json!({
        "desc": "d",
        "inputs": {"type": "object", "properties": properties, "required": [],
                   "definitions": {"Target": {"title": "Target", "type": "object",
                       "properties": {"host": {"title": "Host", "type": "string"}},
                       "required": ["host"]}}},
        "outputs": empty,
        "context_inputs": empty,
        "forms": {"renderform": null},
    })
}

fn changes(old: Value, new: Value) -> Vec<Change> {
    diff(&inputs(old), &inputs(new))
}

#[test]
fn a_changed_form_key_breaks_the_form_data_structure() {
    let old = json!({"name": {"title": "Name", "type": "string", "ui:rules": []}});
    let new = json!({"name": {"title": "Name", "type": "string", "ui:rules": ["required"]}});
    let changes = changes(old, new);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    let change = &changes[0];
    assert_eq!(
        change.kind,
        ChangeKind::FieldFormChanged {
            keys: vec!["ui:rules".into()]
        }
    );
    assert_eq!(change.severity, Severity::Breaking);
    assert_eq!(change.rule, Some(rules::CHANGE_FORM_DATA_STRUCTURE));
    assert_eq!(change.bump(), Bump::Major);
    assert_eq!(
        change.to_string(),
        "inputs.name: form key ui:rules changed — breaks \"changing the form data structure\""
    );
}

#[test]
fn a_form_added_to_a_field_is_a_form_change_not_a_type_change() {
    let form = json!({"name": "bk-tag-input"});
    for (old, new) in [
        (
            json!({"type": "array", "items": {"type": "string"}}),
            json!({"type": "array", "items": {"type": "string"}, "ui:component": form}),
        ),
        (
            json!({"$ref": "#/definitions/Target"}),
            json!({"$ref": "#/definitions/Target", "ui:component": form, "ui:props": {}}),
        ),
        (
            json!({"title": "T", "allOf": [{"$ref": "#/definitions/Target"}]}),
            json!({"title": "T", "allOf": [{"$ref": "#/definitions/Target"}], "ui:component": form}),
        ),
        (
            json!({"title": "Any"}),
            json!({"title": "Any", "ui:component": form}),
        ),
    ] {
        let changes = changes(json!({"f": old}), json!({"f": new}));
        assert_eq!(changes.len(), 1, "{changes:#?}");
        assert!(
            matches!(&changes[0].kind, ChangeKind::FieldFormChanged { keys } if keys[0] == "ui:component"),
            "{changes:#?}"
        );
    }
}

#[test]
fn removed_keys_are_named_and_reordered_keys_are_no_change() {
    let old = json!({"n": {"type": "integer", "ui:a": 1, "ui:b": 2, "ui:c": 3}});
    let reordered = json!({"n": {"type": "integer", "ui:c": 3, "ui:a": 1, "ui:b": 2}});
    assert!(changes(old.clone(), reordered).is_empty());
    let fewer = json!({"n": {"type": "integer", "ui:b": 2, "ui:d": 4}});
    let changes = changes(old, fewer);
    assert_eq!(
        changes[0].kind,
        ChangeKind::FieldFormChanged {
            keys: vec!["ui:a".into(), "ui:c".into(), "ui:d".into()]
        }
    );
    assert_eq!(changes[0].what(), "form keys ui:a, ui:c, ui:d changed");
}

#[test]
fn the_type_is_still_compared_next_to_the_form() {
    let old = json!({"n": {"type": "integer", "ui:a": 1}});
    let new = json!({"n": {"type": "string", "ui:a": 1}});
    let changes = changes(old, new);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert!(matches!(changes[0].kind, ChangeKind::TypeChanged { .. }));
}
