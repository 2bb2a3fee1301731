//! pydantic v1's automatic field title: `alias.title().replace('_', ' ')`.

/// Reproduces Python's `str.title()` followed by `.replace('_', ' ')`.
///
/// `str.title()` upper-cases a cased character that follows an uncased one (digits, `_`,
/// spaces and CJK characters are uncased) and lower-cases every other cased character:
/// `task_name` → `Task Name`, `http2_mode` → `Http2 Mode`, `v2api` → `V2Api`.
pub(crate) fn py_title(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut prev_cased = false;
    for c in name.chars() {
        let cased = c.is_uppercase() || c.is_lowercase();
        if cased {
            if prev_cased {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
        } else if c == '_' {
            out.push(' ');
        } else {
            out.push(c);
        }
        prev_cased = cased;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::py_title;

    #[test]
    fn matches_python_title() {
        // Expected values produced by CPython: `name.title().replace('_', ' ')`.
        let cases = [
            ("hello", "Hello"),
            ("task_name", "Task Name"),
            ("template_id", "Template Id"),
            ("http2_mode", "Http2 Mode"),
            ("v2api", "V2Api"),
            ("iPhone", "Iphone"),
            ("HTTPServer", "Httpserver"),
            ("_a__b", " A  B"),
            ("dry_run", "Dry Run"),
            ("biz_cc_id", "Biz Cc Id"),
            ("x", "X"),
            ("名字_name", "名字 Name"),
        ];
        for (input, expected) in cases {
            assert_eq!(py_title(input), expected, "title of {input:?}");
        }
    }
}
