//! Folder pages: the message list with paging and sorting.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    app::AppState,
    error::AppError,
    i18n::Tr,
    imap::{Folder, MessagePage, MessageSummary, PageRequest, SortKey},
    web::{
        actions::{ActionBar, Place, notice_text},
        extract::CurrentUser,
        format,
        labels::{Chip, LabelSettings},
        layout::{Layout, PageCtx, folder_label},
        mailbox_href, message_href,
    },
};

/// Messages per page.
pub const PER_PAGE: u32 = 50;

/// `GET /`: the inbox when logged in, else the login page.
pub async fn home(user: Result<CurrentUser, AppError>) -> Response {
    match user {
        Ok(_) => Redirect::to("/mail/INBOX").into_response(),
        Err(_) => Redirect::to("/login").into_response(),
    }
}

/// The `sort` query values, as the list's sort menu offers them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    Date,
    DateAsc,
    From,
    Subject,
    Size,
}

impl Sort {
    const ALL: [Sort; 5] = [
        Sort::Date,
        Sort::DateAsc,
        Sort::From,
        Sort::Subject,
        Sort::Size,
    ];

    fn parse(s: Option<&str>) -> Sort {
        match s {
            Some("date_asc") => Sort::DateAsc,
            Some("from") => Sort::From,
            Some("subject") => Sort::Subject,
            Some("size") => Sort::Size,
            _ => Sort::Date,
        }
    }

    fn param(self) -> &'static str {
        match self {
            Sort::Date => "date",
            Sort::DateAsc => "date_asc",
            Sort::From => "from",
            Sort::Subject => "subject",
            Sort::Size => "size",
        }
    }

    /// What the server is asked for: newest and largest first, names A→Z.
    fn request(self, page: u32) -> PageRequest {
        let (sort, reverse) = match self {
            Sort::Date => (SortKey::Date, true),
            Sort::DateAsc => (SortKey::Date, false),
            Sort::From => (SortKey::From, false),
            Sort::Subject => (SortKey::Subject, false),
            Sort::Size => (SortKey::Size, true),
        };
        PageRequest {
            page,
            per_page: PER_PAGE,
            sort,
            reverse,
        }
    }
}

/// The list's query string: the user's place (page, order, search) plus the notice an
/// action left (see `web::actions`).
#[derive(Deserialize)]
pub struct ListQuery {
    /// Page, sort and search; carried through the action forms.
    #[serde(flatten)]
    pub place: Place,
    /// Key of a notice to show (only known keys are shown).
    pub notice: Option<String>,
    /// The count the notice mentions.
    pub n: Option<String>,
    /// A message just queued in the outbox: the notice offers to undo it.
    pub outbox: Option<String>,
    /// Where moved messages went, for the notice's Undo (see [`crate::web::undo`]).
    pub undo_box: Option<String>,
    pub undo_v: Option<String>,
    pub undo_uids: Option<String>,
}

/// One row of the message list, as `templates/components/message_table.html` shows it.
/// Public so that other list-like pages (search results, threads) render the same table.
pub struct Row {
    /// The message UID: the value of the row's checkbox.
    pub uid: u32,
    /// Link to the message page.
    pub href: String,
    /// Sender's name or address (translated placeholder when missing).
    pub from: String,
    /// Subject (translated placeholder when empty).
    pub subject: String,
    /// Short, localized date, in the reader's zone.
    pub date: String,
    /// The full date, offset and zone, for the date's tooltip.
    pub date_title: String,
    /// Human-readable size.
    pub size: String,
    /// `\Seen`.
    pub seen: bool,
    /// `\Flagged`.
    pub flagged: bool,
    /// `\Answered`.
    pub answered: bool,
    /// Has attachments (from BODYSTRUCTURE).
    pub attachment: bool,
    /// The folder to show in an extra column (results across folders); `None` hides it.
    pub folder: Option<String>,
    /// The message's labels, as chips (colours from [`Row::paint`]).
    pub labels: Vec<Chip>,
    /// The start of its text, for the preview line (empty: none).
    pub preview: String,
}

impl Row {
    /// Builds the row of message `m` of folder `mailbox`; `now` decides how the date is
    /// shortened. The folder column stays empty: set [`Row::folder`] to show it.
    pub fn new(
        tr: Tr,
        now: chrono::DateTime<chrono_tz::Tz>,
        mailbox: &str,
        m: &MessageSummary,
    ) -> Row {
        Row {
            uid: m.uid,
            href: message_href(mailbox, m.uid),
            from: format::sender(tr, m.from.as_ref()),
            subject: format::subject(tr, &m.subject),
            date: format::list_date(tr, m.date, now),
            date_title: format::exact_date(m.date, now.timezone()),
            size: format::size(u64::from(m.size)),
            seen: m.seen,
            flagged: m.flagged,
            answered: m.answered,
            attachment: m.has_attachment,
            folder: None,
            labels: LabelSettings::default().chips(mailbox, &m.labels),
            preview: m.preview.clone(),
        }
    }

    /// Gives the row's chips the user's colours.
    pub fn paint(mut self, ls: &LabelSettings, mailbox: &str, m: &MessageSummary) -> Row {
        self.labels = ls.chips(mailbox, &m.labels);
        self
    }
}

/// Gives the open folder's sidebar entry the counts of the list's own SELECT. The folder
/// list is fetched beside the message list on another connection, and a server may answer
/// its STATUS from an older state (Dovecot's LIST-STATUS can lag a delivery that SELECT
/// already sees): one page must never show the new message unread in the list while the
/// sidebar's count does not include it.
pub fn same_state_in_sidebar(folders: &mut [Folder], mailbox: &str, listing: &MessagePage) {
    if let Some(f) = folders.iter_mut().find(|f| f.name == mailbox) {
        f.total = listing.total;
        if let Some(unseen) = listing.unseen {
            f.unseen = unseen;
        }
    }
}

/// Whether the table needs its folder column (some row comes from another folder).
pub fn any_folder(rows: &[Row]) -> bool {
    rows.iter().any(|r| r.folder.is_some())
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/mailbox.html")]
pub struct MailboxPage {
    l: Layout,
    folder_name: String,
    folder_href: String,
    rows: Vec<Row>,
    /// The actions toolbar (the table's checkboxes belong to its form).
    bar: ActionBar,
    /// What the last action did, or why it was refused.
    notice: Option<String>,
    /// The outbox id an Undo button takes back.
    undo_outbox: Option<String>,
    /// Moved messages an Undo button moves back.
    undo: Option<crate::web::undo::Undo>,
    /// "This folder cannot keep new labels" (its PERMANENTFLAGS), when so.
    labels_notice: Option<&'static str>,
    total_label: String,
    page_label: String,
    sort: &'static str,
    sorts: Vec<(&'static str, &'static str)>,
    prev_href: Option<String>,
    next_href: Option<String>,
}

/// `GET /mail/{mailbox}`: one page of the folder's messages.
pub async fn list(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(mailbox): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    // The user's watcher keeps this page's caches valid (and pushes new mail to it).
    state.live.touch(&account);
    // Search results and the conversation view live at the same URL (`web::search`).
    if let Some(res) = crate::web::search::intercept(&state, &ctx, &account, &mailbox, &q).await? {
        return Ok(res);
    }
    // A junk page number is page 1, not an error: it comes from a hand-edited URL.
    let page = q
        .place
        .page
        .as_deref()
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(1)
        .max(1);
    let sort = Sort::parse(q.place.sort.as_deref());
    let req = sort.request(page);
    let (folders, listing, ls) = tokio::join!(
        ctx.folders(&state.imap, &account),
        state.imap.fetch_page(&account, &mailbox, &req),
        LabelSettings::load(&state, &account.username)
    );
    let (mut folders, listing, ls): (_, MessagePage, _) = (folders?, listing?, ls?);
    same_state_in_sidebar(&mut folders, &mailbox, &listing);

    let tr = ctx.tr;
    let zone = crate::zone::user_zone(&state.db, &account.username, &state.config).await;
    let now = chrono::Utc::now().with_timezone(&zone);
    let rows = listing
        .messages
        .iter()
        .map(|m| Row::new(tr, now, &mailbox, m).paint(&ls, &mailbox, m))
        .collect();
    let folder_name = folders
        .iter()
        .find(|f| f.name == mailbox)
        .map(|f| folder_label(tr, f))
        .unwrap_or_else(|| mailbox.clone());
    let base = mailbox_href(&mailbox);
    let link = |p: u32| {
        if sort == Sort::Date {
            format!("{base}?page={p}")
        } else {
            format!("{base}?page={p}&sort={}", sort.param())
        }
    };
    let pages = listing.pages.max(1);
    let page = listing.page.clamp(1, pages);
    let bar = ActionBar::new(
        tr,
        &mailbox,
        listing.uidvalidity,
        &q.place,
        &folders,
        listing.messages.iter().map(|m| m.uid).collect(),
    )
    .with_labels(
        &ls.all(
            listing
                .labels
                .iter()
                .chain(listing.messages.iter().flat_map(|m| &m.labels)),
        ),
    );
    let notice = notice_text(tr, q.notice.as_deref(), q.n.as_deref());
    let l = Layout::with_folders(
        &ctx,
        folder_name.clone(),
        &account.username,
        &folders,
        Some(&mailbox),
    )
    .await;
    let can_label = l.rights.permits("label");
    Ok(MailboxPage {
        l,
        folder_name,
        folder_href: base.clone(),
        rows,
        bar,
        notice,
        undo: crate::web::undo::Undo::from_query(
            q.undo_box.as_deref(),
            q.undo_v.as_deref(),
            q.undo_uids.as_deref(),
            &mailbox,
            false,
        ),
        undo_outbox: q
            .outbox
            .clone()
            .filter(|id| crate::web::outbox::valid_id(id)),
        // Only where the user may label at all: a folder shared read-only says so already.
        labels_notice: (!listing.new_labels && can_label).then(|| tr.t("notice.labels_not_stored")),
        total_label: tr.count("list.messages", u64::from(listing.total)),
        page_label: tr.tf("page.of", &[("page", page.into()), ("pages", pages.into())]),
        sort: sort.param(),
        sorts: Sort::ALL
            .iter()
            .map(|s| (s.param(), tr.t(&format!("list.sort.{}", s.param()))))
            .collect(),
        prev_href: (page > 1).then(|| link(page - 1)),
        next_href: (page < pages).then(|| link(page + 1)),
    }
    .into_response())
}
