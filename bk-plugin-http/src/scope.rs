//! `allow_scope`: which apps may invoke, by `Bkplugin-Scope-Type` / `-Value` headers
//! (protocol.md §2.3 layer 4).

use std::collections::HashMap;

use serde_json::Value;

/// Parsed `allow_scope`: `{app_code: {"type": str, "value": [str, ..]}}`.
#[derive(Debug, Clone, Default)]
pub(crate) struct AllowScope {
    apps: HashMap<String, (String, Vec<String>)>,
}

impl AllowScope {
    pub(crate) fn parse(v: &Value) -> Result<AllowScope, String> {
        let obj = v
            .as_object()
            .ok_or_else(|| "allow_scope must be a JSON object".to_owned())?;
        let mut apps = HashMap::new();
        for (app, rule) in obj {
            let ty = rule.get("type").and_then(Value::as_str);
            let values = rule.get("value").and_then(Value::as_array).and_then(|a| {
                a.iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            });
            match (ty, values) {
                (Some(ty), Some(values)) => {
                    apps.insert(app.clone(), (ty.to_owned(), values));
                }
                _ => {
                    return Err(format!(
                        "allow_scope.{app} must be {{\"type\": string, \"value\": [string, ...]}}"
                    ));
                }
            }
        }
        Ok(AllowScope { apps })
    }

    /// Python's rule: no scope or an app not listed → allowed; else the headers must match.
    /// A request without an app (dev, no JWT) is allowed (the Python framework answers 500).
    pub(crate) fn allows(
        &self,
        app_code: Option<&str>,
        scope_type: Option<&str>,
        scope_value: Option<&str>,
    ) -> bool {
        let Some(app) = app_code else { return true };
        match self.apps.get(app) {
            None => true,
            Some((ty, values)) => {
                scope_type == Some(ty.as_str())
                    && scope_value.is_some_and(|v| values.iter().any(|x| x == v))
            }
        }
    }
}
