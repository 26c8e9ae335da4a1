//! Search results and the conversation view of a folder, both served at
//! `GET /mail/{mailbox}` when its query asks for them (`q`, a filter, `all_folders=1`, or
//! `view=threads`): the folder list handler hands over to [`intercept`].
//!
//! The search form ([`SearchBox`], `templates/components/search_box.html`) sits on every
//! folder page. What it sends is checked here: bad dates or text with control characters
//! bring the form back with the user's input and a message beside the field, never an
//! error page. Searching itself is `imap::search`; grouping is `imap::threads`.
//!
//! The default scope is subject, sender and recipients, which servers answer quickly; a
//! results page offers the same search in the message text too in one click, and a
//! search in the message text says when the server has no full-text index to make it
//! quick (`imap::TextIndex`).

use askama::Template;
use askama_web::WebTemplate;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;

use crate::{
    app::AppState,
    error::AppError,
    i18n::Tr,
    imap::{
        Account, Folder, Keyword, PageRequest, Rights, SearchField, SearchQuery, SearchText,
        SearchTextError, TextIndex,
    },
    web::{
        actions::{ActionBar, Place, notice_text},
        format,
        labels::LabelSettings,
        layout::{Layout, PageCtx, folder_label},
        mailbox::{ListQuery, PER_PAGE, Row},
        mailbox_href,
    },
};

/// The search form as shown above a folder's list: empty on a plain folder page, filled
/// with the user's input (and any complaint about it) on a results page.
#[derive(Clone, Debug, Default)]
pub struct SearchBox {
    /// The folder's list URL (the form's action).
    pub action: String,
    /// The search text as typed.
    pub q: String,
    /// The chosen [`SearchField`] (form value).
    pub field: &'static str,
    /// (value, label) of the field menu.
    pub fields: Vec<(&'static str, &'static str)>,
    /// "Unread only" is ticked.
    pub unread: bool,
    /// "Flagged only" is ticked.
    pub flagged: bool,
    /// "With attachments" is ticked.
    pub attachments: bool,
    /// "Search all folders" is ticked.
    pub all_folders: bool,
    /// Start of the date range as typed (`YYYY-MM-DD`).
    pub since: String,
    /// End of the date range (exclusive) as typed.
    pub before: String,
    /// Message beside the text field.
    pub text_error: Option<&'static str>,
    /// Message beside the date fields.
    pub date_error: Option<&'static str>,
    /// The label to filter by, as typed.
    pub label: String,
    /// Message beside the label field.
    pub label_error: Option<&'static str>,
    /// Link to the other view of the folder (conversations ↔ messages).
    pub view_href: String,
    /// Its label.
    pub view_label: &'static str,
    /// Link to the folder's sharing page, when the user may share it.
    pub share_href: Option<String>,
}

impl SearchBox {
    /// The empty form of folder `mailbox`.
    pub fn for_folder(tr: Tr, mailbox: &str) -> SearchBox {
        let href = mailbox_href(mailbox);
        SearchBox {
            view_href: format!("{href}?view=threads"),
            view_label: tr.t("search.view_threads"),
            action: href,
            field: SearchField::default().param(),
            fields: SearchField::ALL
                .iter()
                .map(|f| (f.param(), tr.t(&format!("search.field.{}", f.param()))))
                .collect(),
            ..SearchBox::default()
        }
    }
}

/// What the search form sent, checked.
struct Parsed {
    /// The query, when everything was valid.
    query: Option<SearchQuery>,
    /// The form to show again (with complaints, if any).
    form: SearchBox,
}

/// Whether a list URL asks for search results rather than the plain folder.
fn is_search(p: &Place) -> bool {
    let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    set(&p.q)
        || flag(&p.unread)
        || flag(&p.flagged)
        || flag(&p.attachments)
        || set(&p.since)
        || set(&p.before)
        || flag(&p.all_folders)
        || set(&p.label)
}

/// A checkbox value: `1` (or `on`, what browsers send without a value) is ticked.
fn flag(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("1" | "on" | "true"))
}

/// Reads the form's fields into a query, keeping the raw input for redisplay.
fn parse(tr: Tr, mailbox: &str, p: &Place) -> Parsed {
    let mut form = SearchBox::for_folder(tr, mailbox);
    form.q = p.q.clone().unwrap_or_default();
    let field = SearchField::parse(p.field.as_deref());
    form.field = field.param();
    form.unread = flag(&p.unread);
    form.flagged = flag(&p.flagged);
    form.attachments = flag(&p.attachments);
    form.all_folders = flag(&p.all_folders);
    form.since = p.since.clone().unwrap_or_default();
    form.before = p.before.clone().unwrap_or_default();
    form.label = p.label.clone().unwrap_or_default();
    let label = match form.label.trim() {
        "" => Ok(None),
        name => Keyword::from_name(name)
            .map(Some)
            .map_err(|e| tr.t(crate::web::labels::error_key(e))),
    };
    form.label_error = label.as_ref().err().copied();
    let text = SearchText::parse(&form.q).map_err(|e| match e {
        SearchTextError::ControlCharacters => "search.error.control",
        SearchTextError::TooLong => "search.error.too_long",
    });
    let since = parse_date(&form.since);
    let before = parse_date(&form.before);
    form.text_error = text.as_ref().err().map(|k| tr.t(k));
    form.date_error = match (since, before) {
        (Err(()), _) | (_, Err(())) => Some(tr.t("search.error.date")),
        (Ok(Some(s)), Ok(Some(b))) if s >= b => Some(tr.t("search.error.date_order")),
        _ => None,
    };
    let query = match (text, since, before, label) {
        (Ok(text), Ok(since), Ok(before), Ok(label)) if form.date_error.is_none() => {
            Some(SearchQuery {
                text,
                field,
                unread: form.unread,
                flagged: form.flagged,
                attachments: form.attachments,
                since,
                before,
                label,
                ..SearchQuery::default()
            })
        }
        _ => None,
    };
    Parsed { query, form }
}

/// `YYYY-MM-DD` (what `<input type="date">` sends); empty is "no limit".
fn parse_date(s: &str) -> Result<Option<NaiveDate>, ()> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| ())
}

/// A page number from the URL; junk is page 1.
fn page_number(p: &Place) -> u32 {
    p.page
        .as_deref()
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(1)
        .max(1)
}

/// The results page: the search form, the matches (with their folders when searching
/// everywhere) and paging.
#[derive(Template, WebTemplate)]
#[template(path = "pages/search.html")]
pub struct SearchPage {
    l: Layout,
    heading: String,
    total_label: String,
    rows: Vec<Row>,
    /// The actions toolbar, for results from one folder (its checkboxes belong to it).
    bar: Option<ActionBar>,
    notice: Option<String>,
    /// The same search in the message text too, when it did not look there.
    text_href: Option<String>,
    /// "Searching the message text may be slow here", when the server has no index.
    slow_notice: Option<&'static str>,
    page_label: String,
    prev_href: Option<String>,
    next_href: Option<String>,
}

/// One conversation of the thread view.
pub struct ThreadGroup {
    /// The first message's subject.
    subject: String,
    /// "3 messages".
    size_label: String,
    /// Its messages, oldest first.
    rows: Vec<Row>,
}

/// A folder grouped into conversations, one table per conversation.
#[derive(Template, WebTemplate)]
#[template(path = "pages/threads.html")]
pub struct ThreadsPage {
    l: Layout,
    heading: String,
    total_label: String,
    threads: Vec<ThreadGroup>,
    bar: ActionBar,
    notice: Option<String>,
    page_label: String,
    prev_href: Option<String>,
    next_href: Option<String>,
}

/// Serves the search results or the conversation view when `q` asks for one; `None`
/// means "the plain folder list", which the caller shows.
pub async fn intercept(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    mailbox: &str,
    q: &ListQuery,
) -> Result<Option<Response>, AppError> {
    let notice = notice_text(ctx.tr, q.notice.as_deref(), q.n.as_deref());
    if is_search(&q.place) {
        return search(state, ctx, account, mailbox, &q.place, notice)
            .await
            .map(Some);
    }
    if q.place.view.as_deref() == Some("threads") {
        return threads(state, ctx, account, mailbox, &q.place, notice)
            .await
            .map(Some);
    }
    Ok(None)
}

/// The results page (or the form again, with what was wrong).
async fn search(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    mailbox: &str,
    place: &Place,
    notice: Option<String>,
) -> Result<Response, AppError> {
    let tr = ctx.tr;
    let zone = crate::zone::user_zone(&state.db, &account.username, &state.config).await;
    let mut parsed = parse(tr, mailbox, place);
    // The dates typed are the user's days.
    parsed.query = parsed
        .query
        .map(|q| q.in_zone(|d| format::day_start(d, zone)));
    let page = page_number(place);
    let req = PageRequest {
        page,
        per_page: PER_PAGE,
        ..PageRequest::default()
    };
    // One folder: the sidebar's list and the search run side by side.
    let one_folder = parsed.query.as_ref().filter(|_| !parsed.form.all_folders);
    let (folders, single) = match one_folder {
        Some(query) => {
            let (folders, res) = tokio::join!(
                ctx.folders(&state.imap, account),
                state.imap.search(account, mailbox, query, &req)
            );
            (folders?, Some(res?))
        }
        None => (ctx.folders(&state.imap, account).await?, None),
    };
    let ls = LabelSettings::load(state, &account.username).await?;
    let now = chrono::Utc::now().with_timezone(&zone);
    // Results from many folders name theirs in full ("报告/2026", not "2026"); the
    // special folders keep their translated names.
    let label_of = |name: &str| {
        folders
            .iter()
            .find(|f| f.name == name)
            .map(|f| {
                if f.special.is_some() {
                    folder_label(tr, f)
                } else {
                    f.name.clone()
                }
            })
            .unwrap_or_else(|| name.to_owned())
    };
    let folder_name = folders
        .iter()
        .find(|f| f.name == mailbox)
        .map(|f| folder_label(tr, f))
        .unwrap_or_else(|| mailbox.to_owned());
    let mut bar = None;
    let (rows, total, page, pages) = match (&parsed.query, single) {
        (None, _) => (Vec::new(), 0, 1, 1),
        (Some(query), None) => {
            let names = searchable(&folders);
            let res = state
                .imap
                .search_all(account, &names, query, page, PER_PAGE)
                .await?;
            let rows = res
                .hits
                .iter()
                .map(|h| Row {
                    folder: Some(label_of(&h.mailbox)),
                    ..Row::new(tr, now, &h.mailbox, &h.summary).paint(&ls, &h.mailbox, &h.summary)
                })
                .collect();
            (rows, res.total, res.page, res.pages)
        }
        (Some(_), Some(res)) => {
            let uids = res.messages.iter().map(|m| m.uid).collect();
            let seen = res.messages.iter().flat_map(|m| &m.labels);
            bar = Some(
                ActionBar::new(tr, mailbox, res.uidvalidity, place, &folders, uids)
                    .with_labels(&ls.all(seen)),
            );
            let rows = res
                .messages
                .iter()
                .map(|m| Row::new(tr, now, mailbox, m).paint(&ls, mailbox, m))
                .collect();
            (rows, res.total, res.page, res.pages)
        }
    };
    let mut l = Layout::with_folders(
        ctx,
        tr.tf("search.title", &[("folder", folder_name.as_str().into())]),
        &account.username,
        &folders,
        Some(mailbox),
    )
    .await;
    if let Some(b) = bar.as_mut() {
        hide_disallowed(b, &l.rights);
    }
    let share_href = l.search.as_ref().and_then(|s| s.share_href.clone());
    l.search = Some(SearchBox {
        share_href,
        ..parsed.form.clone()
    });
    let heading = if parsed.form.all_folders {
        tr.t("search.heading_all").to_owned()
    } else {
        tr.tf("search.heading", &[("folder", folder_name.as_str().into())])
    };
    let link = |p: u32| {
        let mut next = place.clone();
        next.page = Some(p.to_string());
        next.list_href(mailbox, None)
    };
    let invalid = parsed.query.is_none();
    let searched_text = parsed
        .query
        .as_ref()
        .filter(|q| !q.text.is_empty())
        .map(|q| q.field.reads_text());
    let text_href = (searched_text == Some(false)).then(|| {
        let mut everywhere = place.clone();
        everywhere.field = Some(SearchField::All.param().to_owned());
        everywhere.page = None;
        everywhere.list_href(mailbox, None)
    });
    let slow_notice = (searched_text == Some(true)
        && state.imap.text_index() == Some(TextIndex::Scan))
    .then(|| tr.t("search.slow"));
    Ok(SearchPage {
        l,
        heading,
        total_label: if invalid {
            String::new()
        } else {
            tr.tf("search.results", &[("count", total.into())])
        },
        rows,
        bar,
        notice,
        text_href,
        slow_notice,
        page_label: tr.tf("page.of", &[("page", page.into()), ("pages", pages.into())]),
        prev_href: (page > 1).then(|| link(page - 1)),
        next_href: (page < pages).then(|| link(page + 1)),
    }
    .into_response())
}

/// The folders "search all folders" looks in: every folder that can hold messages.
fn searchable(folders: &[Folder]) -> Vec<String> {
    folders
        .iter()
        .filter(|f| f.selectable)
        .map(|f| f.name.clone())
        .collect()
}

/// Leaves out of the toolbar what the user's rights in the folder do not allow.
fn hide_disallowed(bar: &mut ActionBar, rights: &Rights) {
    bar.actions.retain(|(action, _)| rights.permits(action));
}

/// The folder grouped into conversations.
async fn threads(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    mailbox: &str,
    place: &Place,
    notice: Option<String>,
) -> Result<Response, AppError> {
    let tr = ctx.tr;
    let page = page_number(place);
    let (folders, listing) = tokio::join!(
        ctx.folders(&state.imap, account),
        state.imap.thread_page(account, mailbox, page, PER_PAGE)
    );
    let (folders, listing) = (folders?, listing?);
    let zone = crate::zone::user_zone(&state.db, &account.username, &state.config).await;
    let now = chrono::Utc::now().with_timezone(&zone);
    let folder_name = folders
        .iter()
        .find(|f| f.name == mailbox)
        .map(|f| folder_label(tr, f))
        .unwrap_or_else(|| mailbox.to_owned());
    let groups: Vec<ThreadGroup> = listing
        .threads
        .iter()
        .map(|t| {
            let rows: Vec<Row> = t
                .messages
                .iter()
                .map(|m| Row::new(tr, now, mailbox, m))
                .collect();
            ThreadGroup {
                subject: rows.first().map(|r| r.subject.clone()).unwrap_or_default(),
                size_label: tr.tf("threads.size", &[("count", t.size.into())]),
                rows,
            }
        })
        .collect();
    let uids = listing
        .threads
        .iter()
        .flat_map(|t| t.messages.iter().map(|m| m.uid))
        .collect();
    let mut bar = ActionBar::new(tr, mailbox, listing.uidvalidity, place, &folders, uids);
    let mut l = Layout::with_folders(
        ctx,
        folder_name.clone(),
        &account.username,
        &folders,
        Some(mailbox),
    )
    .await;
    hide_disallowed(&mut bar, &l.rights);
    if let Some(s) = l.search.as_mut() {
        s.view_href = mailbox_href(mailbox);
        s.view_label = tr.t("search.view_messages");
    }
    let link = |p: u32| {
        let mut next = place.clone();
        next.page = Some(p.to_string());
        next.list_href(mailbox, None)
    };
    let (page, pages) = (listing.page, listing.pages);
    Ok(ThreadsPage {
        l,
        heading: folder_name,
        total_label: tr.tf("threads.count", &[("count", listing.total.into())]),
        threads: groups,
        bar,
        notice,
        page_label: tr.tf("page.of", &[("page", page.into()), ("pages", pages.into())]),
        prev_href: (page > 1).then(|| link(page - 1)),
        next_href: (page < pages).then(|| link(page + 1)),
    }
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    fn place(pairs: &[(&str, &str)]) -> Place {
        let mut p = Place::default();
        for (k, v) in pairs {
            let v = Some(v.to_string());
            match *k {
                "q" => p.q = v,
                "field" => p.field = v,
                "unread" => p.unread = v,
                "since" => p.since = v,
                "before" => p.before = v,
                "all_folders" => p.all_folders = v,
                "label" => p.label = v,
                other => panic!("{other}"),
            }
        }
        p
    }

    #[test]
    fn what_counts_as_a_search() {
        assert!(!is_search(&Place::default()));
        assert!(!is_search(&place(&[("q", "  ")])));
        assert!(is_search(&place(&[("q", "x")])));
        assert!(is_search(&place(&[("unread", "1")])));
        assert!(!is_search(&place(&[("unread", "0")])));
        assert!(is_search(&place(&[("since", "2026-01-01")])));
        assert!(is_search(&place(&[("all_folders", "on")])));
        assert!(is_search(&place(&[("label", "报告")])));
        assert!(!is_search(&place(&[("label", " ")])));
    }

    #[test]
    fn valid_input_becomes_a_query() {
        let p = parse(
            Tr(Lang::En),
            "INBOX",
            &place(&[
                ("q", " 报告 "),
                ("field", "subject"),
                ("unread", "1"),
                ("since", "2026-11-01"),
                ("before", "2026-11-03"),
            ]),
        );
        let q = p.query.unwrap();
        assert_eq!(q.text.as_str(), "报告");
        assert_eq!(q.field, SearchField::Subject);
        assert!(q.unread && !q.flagged);
        assert_eq!(q.since, NaiveDate::from_ymd_opt(2026, 11, 1));
        assert_eq!(p.form.field, "subject");
        assert!(p.form.text_error.is_none() && p.form.date_error.is_none());
    }

    #[test]
    fn bad_input_comes_back_with_messages() {
        let tr = Tr(Lang::En);
        let p = parse(
            tr,
            "INBOX",
            &place(&[("q", "a\r\nb"), ("since", "2026-13-45")]),
        );
        assert!(p.query.is_none());
        assert_eq!(p.form.q, "a\r\nb");
        assert_eq!(p.form.text_error, Some(tr.t("search.error.control")));
        assert_eq!(p.form.date_error, Some(tr.t("search.error.date")));
        assert_eq!(p.form.since, "2026-13-45");
        let p = parse(
            tr,
            "INBOX",
            &place(&[("since", "2026-11-05"), ("before", "2026-11-01")]),
        );
        assert!(p.query.is_none());
        assert_eq!(p.form.date_error, Some(tr.t("search.error.date_order")));
        let p = parse(tr, "INBOX", &place(&[("label", "\\Seen")]));
        assert!(p.query.is_none());
        assert_eq!(p.form.label, "\\Seen");
        assert_eq!(p.form.label_error, Some(tr.t("labels.error.system")));
        let p = parse(tr, "INBOX", &place(&[("label", "报告")]));
        assert_eq!(
            p.query.and_then(|q| q.label).map(|k| k.name()),
            Some("报告".into())
        );
        let p = parse(tr, "INBOX", &place(&[("q", &"x".repeat(201))]));
        assert_eq!(p.form.text_error, Some(tr.t("search.error.too_long")));
    }
}
