//! The form parameters of one API call, read the way WHMCS (PHP) reads them: the last duplicate wins,
//! `pid[0]=…` / `pid[]=…` build arrays, and flags follow PHP truthiness.

use std::collections::BTreeMap;

pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// A body that is not a form reads as no parameters at all (then "Authentication Failed").
    pub fn parse(body: &[u8]) -> Self {
        Self {
            pairs: serde_urlencoded::from_bytes(body).unwrap_or_default(),
        }
    }

    /// The trimmed value, `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// An id; anything that is not a positive number counts as absent, as PHP's `(int)` cast makes it 0.
    pub fn id(&self, name: &str) -> Option<u64> {
        self.get(name)
            .and_then(|value| value.parse::<u64>().ok())
            .filter(|id| *id > 0)
    }

    /// PHP truthiness: absent, `""` and `"0"` are false, anything else (even `"false"`) is true.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(|value| value != "0")
    }

    /// `name[0]=a&name[1]=b` (or `name[]=a&name[]=b`, or a plain `name=a`) by index.
    pub fn array(&self, name: &str) -> BTreeMap<usize, String> {
        let mut values = BTreeMap::new();
        for (key, value) in &self.pairs {
            let index = if key == name {
                Some(0)
            } else if let Some(inner) = key
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('['))
                .and_then(|rest| rest.strip_suffix(']'))
            {
                if inner.is_empty() {
                    Some(values.keys().next_back().map_or(0, |last| last + 1))
                } else {
                    inner.parse().ok()
                }
            } else {
                None
            };
            if let Some(index) = index {
                values.insert(index, value.trim().to_owned());
            }
        }
        values
    }

    /// Paging as WHMCS reads it: `limitstart` (default 0) and `limitnum` (default 25).
    pub fn page(&self) -> (usize, usize) {
        let number = |name: &str| self.get(name).and_then(|value| value.parse::<usize>().ok());
        let start = number("limitstart").unwrap_or(0);
        let size = number("limitnum").filter(|n| *n > 0).unwrap_or(25);
        (start, size)
    }
}
