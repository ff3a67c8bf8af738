//! JSON Lines data files: one JSON object per non-blank line, read into `Item`s whose field
//! accessors turn a missing or mistyped field into an error naming the file and the line.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::read_text;
use crate::{Error, Result};

/// One line of a data file.
pub(crate) struct Item {
    path: PathBuf,
    /// 1-based line number.
    pub(crate) line: usize,
    fields: Map<String, Value>,
}

/// Reads every non-blank line of `path` as a JSON object.
pub(crate) fn read_jsonl(path: &Path) -> Result<Vec<Item>> {
    let text = read_text(path)?;
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line).map_err(|e| Error::Data {
            path: path.to_path_buf(),
            line: i + 1,
            message: format!("not valid JSON: {e}"),
        })?;
        let Value::Object(fields) = value else {
            return Err(Error::Data {
                path: path.to_path_buf(),
                line: i + 1,
                message: "expected a JSON object".into(),
            });
        };
        items.push(Item {
            path: path.to_path_buf(),
            line: i + 1,
            fields,
        });
    }
    if items.is_empty() {
        return Err(Error::Invalid(format!("{}: no items", path.display())));
    }
    Ok(items)
}

impl Item {
    /// An error about this item.
    pub(crate) fn error(&self, message: impl Into<String>) -> Error {
        Error::Data {
            path: self.path.clone(),
            line: self.line,
            message: message.into(),
        }
    }

    /// Whether the item has field `key`.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.fields.contains_key(key)
    }

    fn get(&self, key: &str) -> Result<&Value> {
        self.fields
            .get(key)
            .ok_or_else(|| self.error(format!("missing field `{key}`")))
    }

    /// A string field.
    pub(crate) fn str(&self, key: &str) -> Result<&str> {
        self.get(key)?
            .as_str()
            .ok_or_else(|| self.error(format!("field `{key}` is not a string")))
    }

    /// A field holding a list of strings.
    pub(crate) fn str_list(&self, key: &str) -> Result<Vec<String>> {
        let v = self.get(key)?;
        let list = v
            .as_array()
            .ok_or_else(|| self.error(format!("field `{key}` is not a list")))?;
        list.iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| self.error(format!("field `{key}` holds a non-string")))
            })
            .collect()
    }

    /// A non-negative integer field, given as a number or as a string of digits.
    pub(crate) fn index(&self, key: &str) -> Result<usize> {
        let v = self.get(key)?;
        let n = match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        n.and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| self.error(format!("field `{key}` is not a non-negative integer")))
    }

    /// A field that may be absent.
    pub(crate) fn value(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }
}
