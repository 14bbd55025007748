//! The API reference page (`/api/v1/docs`): the OpenAPI document rendered
//! as one static HTML page — operations grouped by tag, their parameters,
//! bodies and answers, and every schema with its fields — with no script
//! and no third-party viewer (the page policy allows neither, and none is
//! needed to read a reference).

use std::fmt::Write;

use serde_json::Value;
use utoipa::openapi::OpenApi;

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#0f172a}\
code,pre{font:13px ui-monospace,monospace}h2{margin-top:2.5rem;border-bottom:1px solid #e2e8f0}\
details{border:1px solid #e2e8f0;border-radius:6px;margin:.4rem 0;padding:.3rem .7rem}\
summary{cursor:pointer}.m{display:inline-block;min-width:4.2rem;font-weight:600}\
.GET{color:#15803d}.POST{color:#1d4ed8}.PUT,.PATCH{color:#b45309}.DELETE{color:#b91c1c}\
table{border-collapse:collapse;margin:.3rem 0}td,th{border-bottom:1px solid #f1f5f9;padding:.15rem .6rem;text-align:left;vertical-align:top}";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A schema in one line: `Prospect`, `[Note]`, `string (uuid)`, `Prospect | null`.
fn type_of(s: &Value) -> String {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(name));
    }
    if let Some(items) = s.get("items") {
        return format!("[{}]", type_of(items));
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(parts) = s.get(key).and_then(Value::as_array) {
            return parts.iter().map(type_of).collect::<Vec<_>>().join(" | ");
        }
    }
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        let shown: Vec<String> = values.iter().take(12).map(|v| esc(&v.to_string())).collect();
        let more = if values.len() > 12 { format!(" … {} values", values.len()) } else { String::new() };
        return format!("one of {}{more}", shown.join(", "));
    }
    let ty = match s.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | "),
        _ => "any".into(),
    };
    match s.get("format").and_then(Value::as_str) {
        Some(f) => format!("{} ({})", esc(&ty), esc(f)),
        None => esc(&ty),
    }
}

fn fields(out: &mut String, schema: &Value) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        let _ = write!(out, "<p><code>{}</code></p>", type_of(schema));
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    out.push_str("<table><tr><th>field</th><th>type</th><th></th></tr>");
    for (name, s) in props {
        let _ = write!(
            out,
            "<tr><td><code>{}</code>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            esc(name),
            if required.contains(&name.as_str()) { "" } else { "?" },
            type_of(s),
            esc(s.get("description").and_then(Value::as_str).unwrap_or_default())
        );
    }
    out.push_str("</table>");
}

pub fn render(doc: &OpenApi) -> String {
    let doc: Value = serde_json::to_value(doc).unwrap_or(Value::Null);
    let mut out = String::with_capacity(256 * 1024);
    let title = doc["info"]["title"].as_str().unwrap_or("API");
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} reference</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style></head><body>\
         <h1>{t} <small>{v}</small></h1><p>{d}</p><p>Base URL <code>/api/v1</code>. Authenticate with \
         <code>Authorization: Bearer hdo_…</code>. Machine-readable: <a href=\"openapi.json\">openapi.json</a> \
         (OpenAPI {o}).</p>",
        t = esc(title),
        v = esc(doc["info"]["version"].as_str().unwrap_or_default()),
        d = esc(doc["info"]["description"].as_str().unwrap_or_default()),
        o = esc(doc["openapi"].as_str().unwrap_or_default()),
    );
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    let tags: Vec<String> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str().map(String::from))
        .collect();
    for tag in &tags {
        let _ = write!(out, "<h2>{}</h2>", esc(tag));
        for (path, item) in &paths {
            let Some(item) = item.as_object() else { continue };
            for (method, op) in item {
                let in_tag = op["tags"].as_array().is_some_and(|t| t.iter().any(|x| x.as_str() == Some(tag)));
                if !in_tag {
                    continue;
                }
                let m = method.to_ascii_uppercase();
                let _ = write!(
                    out,
                    "<details id=\"op-{id}\"><summary><span class=\"m {m}\">{m}</span> <code>{p}</code> — {s}</summary>",
                    id = esc(op["operationId"].as_str().unwrap_or_default()),
                    p = esc(path),
                    s = esc(op["summary"].as_str().unwrap_or_default()),
                );
                if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
                    out.push_str("<h4>Parameters</h4><table>");
                    for p in params {
                        let _ = write!(
                            out,
                            "<tr><td><code>{}</code>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                            esc(p["name"].as_str().unwrap_or_default()),
                            if p["required"].as_bool() == Some(true) { "" } else { "?" },
                            esc(p["in"].as_str().unwrap_or_default()),
                            type_of(&p["schema"]),
                            esc(p["description"].as_str().unwrap_or_default()),
                        );
                    }
                    out.push_str("</table>");
                }
                if let Some(content) = op["requestBody"]["content"].as_object() {
                    for (mime, c) in content {
                        let _ = write!(out, "<h4>Body <code>{}</code></h4>", esc(mime));
                        fields(&mut out, &c["schema"]);
                    }
                }
                out.push_str("<h4>Answers</h4><table>");
                if let Some(responses) = op["responses"].as_object() {
                    for (status, r) in responses {
                        let body = r["content"]
                            .as_object()
                            .and_then(|c| c.iter().next())
                            .map(|(mime, c)| format!("<code>{}</code> {}", esc(mime), type_of(&c["schema"])))
                            .unwrap_or_default();
                        let _ = write!(
                            out,
                            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                            esc(status),
                            body,
                            esc(r["description"].as_str().unwrap_or_default())
                        );
                    }
                }
                out.push_str("</table></details>");
            }
        }
    }
    out.push_str("<h2>Schemas</h2>");
    if let Some(schemas) = doc["components"]["schemas"].as_object() {
        for (name, s) in schemas {
            let _ = write!(out, "<details id=\"schema-{0}\"><summary><code>{0}</code></summary>", esc(name));
            if let Some(d) = s["description"].as_str() {
                let _ = write!(out, "<p>{}</p>", esc(d));
            }
            fields(&mut out, s);
            out.push_str("</details>");
        }
    }
    out.push_str("</body></html>");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_lists_every_operation_and_schema() {
        let doc = crate::openapi::document();
        let page = super::render(&doc);
        for op in crate::openapi::operations() {
            assert!(page.contains(&format!("id=\"op-{}\"", op.id)), "{}", op.id);
        }
        assert!(page.contains("id=\"schema-Prospect\""));
        assert!(page.contains("<a href=\"#schema-Prospect\">Prospect</a>"));
        assert!(!page.contains("<script"), "a reference needs no script");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(super::esc("<a href=\"x\">&"), "&lt;a href=&quot;x&quot;&gt;&amp;");
    }
}
