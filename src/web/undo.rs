//! Undo after a move. The notice after moving, archiving, deleting to Trash or marking
//! spam says where the messages went (`undo_box`, `undo_v`, `undo_uids` in the URL, from
//! the server's `COPYUID`), and its Undo button is an ordinary action form that moves
//! them back. Nothing is kept on our side: the URL can only name messages in the user's
//! own folders, and the form is checked (CSRF token, UIDVALIDITY) like any other action.

use percent_encoding::utf8_percent_encode;

use crate::{imap::Moved, web::mailbox_href};

/// More messages than this get no Undo (the URL would grow past what browsers keep).
pub const MAX_UIDS: usize = 100;

/// An Undo button: move `uids` of `mailbox` back to `back_to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undo {
    /// Where the messages are now (UTF-8 name).
    pub mailbox: String,
    pub uidvalidity: u32,
    pub uids: Vec<u32>,
    /// The folder they came from: the page's own.
    pub back_to: String,
    /// Undone from the message page: the answer opens the message again.
    pub from_message: bool,
}

impl Undo {
    /// The Undo a page offers, from its query string; `None` unless all three fields
    /// are there and well-formed.
    pub fn from_query(
        mailbox: Option<&str>,
        uidvalidity: Option<&str>,
        uids: Option<&str>,
        back_to: &str,
        from_message: bool,
    ) -> Option<Undo> {
        let mailbox = mailbox.filter(|m| !m.is_empty() && *m != back_to)?;
        let uidvalidity = uidvalidity?.parse().ok().filter(|v| *v > 0)?;
        let uids = uids?
            .split(',')
            .map(|u| u.parse::<u32>().ok().filter(|u| *u > 0))
            .collect::<Option<Vec<u32>>>()?;
        (!uids.is_empty() && uids.len() <= MAX_UIDS).then(|| Undo {
            mailbox: mailbox.to_owned(),
            uidvalidity,
            uids,
            back_to: back_to.to_owned(),
            from_message,
        })
    }

    /// Where the Undo form posts: the actions route of the folder the messages are in.
    pub fn action_href(&self) -> String {
        format!("{}/actions", mailbox_href(&self.mailbox))
    }
}

/// The query pairs that offer an Undo of `moved` on the next page (joined with `&`,
/// without a leading separator), or `None` when there is nothing to undo.
pub fn query(moved: Option<&Moved>) -> Option<String> {
    let m = moved.filter(|m| !m.uids.is_empty() && m.uids.len() <= MAX_UIDS)?;
    let uids = m
        .uids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    Some(format!(
        "undo_box={}&undo_v={}&undo_uids={uids}",
        utf8_percent_encode(&m.mailbox, super::actions::QUERY_VALUE),
        m.uidvalidity
    ))
}

/// `href` with the Undo pairs of `moved` added to its query string.
pub fn add_to(href: String, moved: Option<&Moved>) -> String {
    match query(moved) {
        Some(q) if href.contains('?') => format!("{href}&{q}"),
        Some(q) => format!("{href}?{q}"),
        None => href,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moved(uids: Vec<u32>) -> Moved {
        Moved {
            mailbox: "Trash & 垃圾".into(),
            uidvalidity: 7,
            uids,
        }
    }

    #[test]
    fn the_query_round_trips_and_is_escaped() {
        let href = add_to("/mail/INBOX/4".into(), Some(&moved(vec![9, 12])));
        assert_eq!(
            href,
            "/mail/INBOX/4?undo_box=Trash%20%26%20%E5%9E%83%E5%9C%BE&undo_v=7&undo_uids=9,12"
        );
        assert_eq!(
            add_to(
                "/mail/INBOX?notice=done.delete&n=1".into(),
                Some(&moved(vec![3]))
            ),
            "/mail/INBOX?notice=done.delete&n=1&undo_box=Trash%20%26%20%E5%9E%83%E5%9C%BE&undo_v=7&undo_uids=3"
        );
        let u = Undo::from_query(Some("Trash & 垃圾"), Some("7"), Some("9,12"), "INBOX", true);
        assert_eq!(
            u,
            Some(Undo {
                mailbox: "Trash & 垃圾".into(),
                uidvalidity: 7,
                uids: vec![9, 12],
                back_to: "INBOX".into(),
                from_message: true,
            })
        );
        assert_eq!(
            u.map(|u| u.action_href()).as_deref(),
            Some("/mail/Trash%20%26%20%E5%9E%83%E5%9C%BE/actions")
        );
    }

    #[test]
    fn malformed_or_oversized_undo_fields_offer_nothing() {
        let many = (1..=101)
            .map(|u| u.to_string())
            .collect::<Vec<_>>()
            .join(",");
        for (b, v, u) in [
            (Some("Trash"), Some("7"), Some("")),
            (Some("Trash"), Some("7"), Some("1,,2")),
            (Some("Trash"), Some("7"), Some("1 OR 2")),
            (Some("Trash"), Some("7"), Some("0")),
            (Some("Trash"), Some("x"), Some("1")),
            (Some("Trash"), Some("0"), Some("1")),
            (Some(""), Some("7"), Some("1")),
            (Some("INBOX"), Some("7"), Some("1")),
            (None, Some("7"), Some("1")),
            (Some("Trash"), Some("7"), Some(many.as_str())),
        ] {
            assert_eq!(
                Undo::from_query(b, v, u, "INBOX", false),
                None,
                "{b:?} {v:?} {u:?}"
            );
        }
        assert_eq!(query(Some(&moved((1..=101).collect()))), None);
        assert_eq!(query(Some(&moved(vec![]))), None);
        assert_eq!(query(None), None);
    }
}
