//! [`SecretFields`]: where a model's secrets sit in its JSON, read from its schema
//! (`"writeOnly": true`, as [`Secret`](super::Secret) writes it), so that the engine can seal
//! those values before they are stored and open them before `execute` sees them.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// One position of the schema.
#[derive(Debug, Clone)]
enum Node {
    /// A secret: the whole value.
    Secret,
    /// A model: its properties by JSON key.
    Object(Vec<(String, usize)>),
    /// An array's items or a map's values.
    Each(usize),
}

/// The positions of the secrets in a model's JSON: properties, list items and map values,
/// through nested models (recursive ones included).
///
/// [`map`](SecretFields::map) applies a function to each secret value of a document. Where the
/// document's shape differs from the schema's (a nested model given as `[[key, value]]` pairs,
/// which pydantic accepts), the whole value that holds a secret is passed instead, so that
/// nothing secret is missed.
#[derive(Debug, Clone, Default)]
pub struct SecretFields {
    nodes: Vec<Node>,
    /// Whether each node holds a secret somewhere below it.
    holds: Vec<bool>,
}

impl SecretFields {
    /// The secrets of the model whose root schema is `schema` (`Inputs::schema()`,
    /// `detail.inputs`).
    pub fn of(schema: &Value) -> Self {
        let empty = Map::new();
        let definitions = schema
            .get("definitions")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let mut b = Builder {
            definitions,
            nodes: Vec::new(),
            by_definition: HashMap::new(),
        };
        b.node(schema);
        let mut fields = SecretFields {
            holds: vec![false; b.nodes.len()],
            nodes: b.nodes,
        };
        fields.mark();
        fields
    }

    /// Whether the model has any secret.
    pub fn is_empty(&self) -> bool {
        !self.holds.first().copied().unwrap_or(false)
    }

    /// `document` with every secret value replaced by `f(value)` (`null` values are left).
    pub fn map<E>(
        &self,
        document: &Value,
        f: &mut impl FnMut(&Value) -> Result<Value, E>,
    ) -> Result<Value, E> {
        if self.is_empty() {
            return Ok(document.clone());
        }
        self.map_at(0, document, f)
    }

    fn map_at<E>(
        &self,
        id: usize,
        value: &Value,
        f: &mut impl FnMut(&Value) -> Result<Value, E>,
    ) -> Result<Value, E> {
        if !self.holds[id] || value.is_null() {
            return Ok(value.clone());
        }
        match (&self.nodes[id], value) {
            (Node::Object(props), Value::Object(object)) => {
                let mut out = object.clone();
                for (key, child) in props {
                    if let Some(v) = object.get(key) {
                        out.insert(key.clone(), self.map_at(*child, v, f)?);
                    }
                }
                Ok(Value::Object(out))
            }
            (Node::Each(child), Value::Array(items)) => items
                .iter()
                .map(|v| self.map_at(*child, v, f))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            (Node::Each(child), Value::Object(object)) => {
                let mut out = Map::new();
                for (k, v) in object {
                    out.insert(k.clone(), self.map_at(*child, v, f)?);
                }
                Ok(Value::Object(out))
            }
            // A secret, or a shape the schema does not describe: all of it.
            _ => f(value),
        }
    }

    /// Which nodes hold a secret: a fixpoint over the (possibly cyclic) graph.
    fn mark(&mut self) {
        loop {
            let mut changed = false;
            for id in 0..self.nodes.len() {
                if self.holds[id] {
                    continue;
                }
                let holds = match &self.nodes[id] {
                    Node::Secret => true,
                    Node::Object(props) => props.iter().any(|(_, c)| self.holds[*c]),
                    Node::Each(c) => self.holds[*c],
                };
                if holds {
                    self.holds[id] = true;
                    changed = true;
                }
            }
            if !changed {
                return;
            }
        }
    }
}

struct Builder<'a> {
    definitions: &'a Map<String, Value>,
    nodes: Vec<Node>,
    by_definition: HashMap<&'a str, usize>,
}

impl<'a> Builder<'a> {
    fn push(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// The node of `schema`; a definition is built once and shared.
    fn node(&mut self, schema: &'a Value) -> usize {
        if let Some(name) = reference(schema) {
            if let Some(&id) = self.by_definition.get(name) {
                return id;
            }
            // Reserved first, so that a model referring to itself finds it.
            let id = self.push(Node::Object(Vec::new()));
            self.by_definition.insert(name, id);
            if let Some(def) = self.definitions.get(name) {
                let built = self.node(def);
                self.nodes[id] = self.nodes[built].clone();
            }
            return id;
        }
        if schema.get("writeOnly") == Some(&Value::Bool(true)) {
            return self.push(Node::Secret);
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            let id = self.push(Node::Object(Vec::new()));
            let children = props
                .iter()
                .map(|(k, v)| (k.clone(), self.node(v)))
                .collect();
            self.nodes[id] = Node::Object(children);
            return id;
        }
        let each = schema
            .get("items")
            .or_else(|| schema.get("additionalProperties"))
            .filter(|s| s.is_object());
        match each {
            Some(inner) => {
                let id = self.push(Node::Each(0));
                let child = self.node(inner);
                self.nodes[id] = Node::Each(child);
                id
            }
            None => self.push(Node::Object(Vec::new())),
        }
    }
}

/// The definition a schema refers to: `{"$ref": "#/definitions/X"}`, or through
/// `{"allOf": [{"$ref": ..}]}` (a nested model with a title, description or default).
fn reference(schema: &Value) -> Option<&str> {
    let r = schema.get("$ref").or_else(|| {
        schema
            .get("allOf")
            .and_then(Value::as_array)
            .and_then(|all| all.first())
            .and_then(|first| first.get("$ref"))
    })?;
    r.as_str()?.strip_prefix("#/definitions/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seal(fields: &SecretFields, doc: Value) -> Value {
        fields
            .map::<()>(&doc, &mut |v| Ok(json!(format!("<{v}>"))))
            .unwrap()
    }

    #[test]
    fn secrets_are_found_in_every_position() {
        let secret = json!({"type": "string", "writeOnly": true, "format": "password"});
        let schema = json!({
            "type": "object",
            "properties": {
                "token": secret,
                "name": {"type": "string"},
                "keys": {"type": "array", "items": secret},
                "by_host": {"type": "object", "additionalProperties": secret},
                "login": {"$ref": "#/definitions/Login"},
                "backup": {"title": "Backup", "allOf": [{"$ref": "#/definitions/Login"}]},
                "tree": {"$ref": "#/definitions/Tree"},
                "plain": {"$ref": "#/definitions/Plain"}
            },
            "definitions": {
                "Login": {"type": "object", "properties": {"user": {"type": "string"}, "password": secret}},
                "Tree": {"type": "object", "properties": {
                    "key": secret,
                    "children": {"type": "array", "items": {"$ref": "#/definitions/Tree"}}
                }},
                "Plain": {"type": "object", "properties": {"x": {"type": "integer"}}}
            }
        });
        let fields = SecretFields::of(&schema);
        assert!(!fields.is_empty());
        let doc = json!({
            "token": "t", "name": "n", "keys": ["a", "b"], "by_host": {"h": "p"},
            "login": {"user": "u", "password": "pw"},
            "backup": [["user", "u"], ["password", "pw2"]],
            "tree": {"key": 1, "children": [{"key": "k2", "children": []}]},
            "plain": {"x": 1}, "extra": "e", "none": null
        });
        assert_eq!(
            seal(&fields, doc),
            json!({
                "token": "<\"t\">", "name": "n", "keys": ["<\"a\">", "<\"b\">"],
                "by_host": {"h": "<\"p\">"},
                "login": {"user": "u", "password": "<\"pw\">"},
                "backup": "<[[\"user\",\"u\"],[\"password\",\"pw2\"]]>",
                "tree": {"key": "<1>", "children": [{"key": "<\"k2\">", "children": []}]},
                "plain": {"x": 1}, "extra": "e", "none": null
            })
        );
    }

    #[test]
    fn a_model_without_secrets_is_left_alone() {
        let fields =
            SecretFields::of(&json!({"type": "object", "properties": {"a": {"type": "string"}}}));
        assert!(fields.is_empty());
        assert_eq!(seal(&fields, json!({"a": "x"})), json!({"a": "x"}));
    }
}
