//! Test helper: an environment lookup over a fixed list, as `Config::from_lookup` and the
//! gateway settings take it (empty values read as unset, like `std::env` in `from_env`).

use std::collections::HashMap;

/// `get(name)` over `vars`.
pub(crate) fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned().filter(|v| !v.is_empty())
}
