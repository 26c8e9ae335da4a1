//! Small domain types shared by [`crate::imap`], [`crate::mime`] and the web layer.

use serde::{Deserialize, Serialize};

/// A mailbox address with an optional display name, already decoded to UTF-8.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: Option<String>,
    pub email: String,
}

impl Address {
    /// What a list or header line shows: the name when there is one, else the address.
    pub fn display(&self) -> &str {
        match &self.name {
            Some(n) if !n.trim().is_empty() => n,
            _ => &self.email,
        }
    }
}
