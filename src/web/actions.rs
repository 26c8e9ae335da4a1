//! Message actions from the list (checkboxes, "all on this page") and from the message
//! page (one message): `POST /mail/{mailbox}/actions`, the confirmation page for
//! deleting for good, and emptying Trash or Junk.
//!
//! Every form carries the folder's UIDVALIDITY and the user's place in the list (page,
//! order, search) as hidden fields; the answer is a 303 back to that place with a short
//! notice in the query string (`notice=…&n=…`, only known keys are shown, so a link
//! cannot put words in our mouth), or to the next message when the message page asked.
//! What the actions do on the server is in `imap::actions`.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::{Form, Query};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use crate::{
    app::AppState,
    error::AppError,
    i18n::Tr,
    imap::{Action, ActionError, ActionOutcome, Folder, MessagePlace, Selection, SpecialUse},
    web::{
        encode_segment,
        extract::CurrentUser,
        layout::{Layout, PageCtx, folder_label},
        mailbox_href, message_href, undo,
    },
};

/// Characters left as they are in a query value: RFC 3986 unreserved.
pub(crate) const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Notices the list page shows after an action (`notice=` in its URL); each is the
/// catalog key `notice.<name>`, with `{0}` replaced by the `n=` count.
const NOTICES: &[&str] = &[
    "sent",
    "done.read",
    "done.unread",
    "done.flag",
    "done.unflag",
    "done.move",
    "done.copy",
    "done.archive",
    "done.spam",
    "done.notspam",
    "done.delete",
    "done.expunge",
    "done.undo",
    "emptied",
    "stale",
    "gone",
    "gone_some",
    "no_target",
    "same_folder",
    "none_selected",
    "choose_target",
    "not_permitted",
    "queued",
    "done.label",
    "done.unlabel",
    "label_invalid",
    "labels_not_stored",
];

/// The text of a notice from a list URL, or `None` for an unknown key.
pub fn notice_text(tr: Tr, key: Option<&str>, n: Option<&str>) -> Option<String> {
    let key = NOTICES.iter().find(|k| Some(**k) == key)?;
    let n: u32 = n.and_then(|n| n.parse().ok()).unwrap_or(0);
    Some(tr.tf(&format!("notice.{key}"), &[("count", n.into())]))
}

/// Where the user was in a message list: carried through action forms as hidden fields
/// so that the redirect lands on the same page, in the same order and search.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Place {
    /// Page number.
    pub page: Option<String>,
    /// Sort order (`date`, `from`, …).
    pub sort: Option<String>,
    /// Search text.
    pub q: Option<String>,
    /// Where to search (`headers` by default: subject, from, to; `subject`, `from`,
    /// `to`; `all` and `body` include the message text).
    pub field: Option<String>,
    /// Search filter: unread only.
    pub unread: Option<String>,
    /// Search filter: flagged only.
    pub flagged: Option<String>,
    /// Search filter: with attachments.
    pub attachments: Option<String>,
    /// Search filter: from this date.
    pub since: Option<String>,
    /// Search filter: before this date.
    pub before: Option<String>,
    /// Search in every folder.
    pub all_folders: Option<String>,
    /// `threads` for the conversation view.
    pub view: Option<String>,
    /// Only messages with this label (its name).
    pub label: Option<String>,
}

impl Place {
    /// The non-empty fields as (name, value) pairs, for hidden inputs and query strings.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        [
            ("page", &self.page),
            ("sort", &self.sort),
            ("q", &self.q),
            ("field", &self.field),
            ("unread", &self.unread),
            ("flagged", &self.flagged),
            ("attachments", &self.attachments),
            ("since", &self.since),
            ("before", &self.before),
            ("all_folders", &self.all_folders),
            ("view", &self.view),
            ("label", &self.label),
        ]
        .into_iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .filter(|v| !v.is_empty())
                .map(|v| (k, v.to_owned()))
        })
        .collect()
    }

    /// [`Place::fields`] as hidden fields of an action form: the label filter travels as
    /// `in_label`, since `label` there names the label to apply.
    pub fn form_fields(&self) -> Vec<(&'static str, String)> {
        self.fields()
            .into_iter()
            .map(|(k, v)| (if k == "label" { "in_label" } else { k }, v))
            .collect()
    }

    /// `/mail/{mailbox}` with this place and an optional notice in the query string.
    pub fn list_href(&self, mailbox: &str, notice: Option<(&str, usize)>) -> String {
        let mut pairs = self.fields();
        if let Some((key, n)) = notice {
            pairs.push(("notice", key.to_owned()));
            pairs.push(("n", n.to_string()));
        }
        let query = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY_VALUE)))
            .collect::<Vec<_>>()
            .join("&");
        let base = mailbox_href(mailbox);
        if query.is_empty() {
            base
        } else {
            format!("{base}?{query}")
        }
    }
}

/// The action form, from the list or the message page.
#[derive(Deserialize)]
pub struct ActionForm {
    /// Missing on the confirmation page's GET (which only reads); an empty token never
    /// passes `check_csrf`.
    #[serde(default)]
    csrf_token: String,
    /// Ticked messages (repeated).
    #[serde(default)]
    uid: Vec<String>,
    /// Every message on the list page (repeated), used when `scope=page`.
    #[serde(default)]
    page_uid: Vec<String>,
    /// `page` for the "apply to all on this page" button.
    scope: Option<String>,
    action: Option<String>,
    target: Option<String>,
    uidvalidity: Option<String>,
    /// The label to add or remove (`action=label` / `unlabel`), by name.
    label: Option<String>,
    /// The list's label filter (see [`Place::form_fields`]).
    in_label: Option<String>,
    /// `1` once the user confirmed deleting for good.
    confirm: Option<String>,
    /// `message` when sent from the message page.
    from: Option<String>,
    /// The message to open next when this one leaves the folder (message page).
    next: Option<String>,
    /// `1` on an Undo button (see [`crate::web::undo`]): the answer goes to where the
    /// messages are back, not to the folder they left again.
    undo: Option<String>,
    page: Option<String>,
    sort: Option<String>,
    q: Option<String>,
    field: Option<String>,
    unread: Option<String>,
    flagged: Option<String>,
    attachments: Option<String>,
    since: Option<String>,
    before: Option<String>,
    all_folders: Option<String>,
    view: Option<String>,
}

impl ActionForm {
    fn place(&self) -> Place {
        Place {
            page: self.page.clone(),
            sort: self.sort.clone(),
            q: self.q.clone(),
            field: self.field.clone(),
            unread: self.unread.clone(),
            flagged: self.flagged.clone(),
            attachments: self.attachments.clone(),
            since: self.since.clone(),
            before: self.before.clone(),
            all_folders: self.all_folders.clone(),
            view: self.view.clone(),
            label: self.in_label.clone(),
        }
    }

    /// The UIDs acted on: the ticked ones, or all of the page's with `scope=page`.
    fn uids(&self) -> Result<Vec<u32>, AppError> {
        let raw = if self.scope.as_deref() == Some("page") {
            &self.page_uid
        } else {
            &self.uid
        };
        raw.iter().map(|u| parse_uid(u)).collect()
    }
}

/// A positive 32-bit UID, or a bad request (only a hand-made form sends anything else).
fn parse_uid(s: &str) -> Result<u32, AppError> {
    s.trim()
        .parse::<u32>()
        .ok()
        .filter(|&u| u > 0)
        .ok_or(AppError::BadRequest("error.bad.uid"))
}

/// An optional UIDVALIDITY field: empty or missing means "not checked".
fn parse_validity(s: Option<&str>) -> Result<Option<u32>, AppError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<u32>()
            .map(Some)
            .map_err(|_| AppError::BadRequest("error.bad.uid")),
    }
}

/// `POST /mail/{mailbox}/actions`: runs one action on the chosen messages and answers
/// 303 to the list (same place, with a notice) or to the next message.
pub async fn apply(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(mailbox): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let place = form.place();
    let action_name = form.action.as_deref().unwrap_or_default();
    let parsed = match Action::parse_label(action_name, form.label.as_deref()) {
        Some(Ok(a)) => Some(a),
        Some(Err(_)) => return Ok(back_to_list(&place, &mailbox, "label_invalid", 0)),
        None => Action::parse(action_name, form.target.as_deref()),
    };
    let Some(action) = parsed else {
        if matches!(action_name, "move" | "copy") {
            return Ok(back_to_list(&place, &mailbox, "choose_target", 0));
        }
        return Err(AppError::BadRequest("error.bad.action"));
    };
    let uids = form.uids()?;
    if uids.is_empty() {
        return Ok(back_to_list(&place, &mailbox, "none_selected", 0));
    }
    let sel = Selection {
        mailbox: mailbox.clone(),
        uidvalidity: parse_validity(form.uidvalidity.as_deref())?,
        uids,
    };
    let confirmed = form.confirm.as_deref() == Some("1");
    let outcome = state
        .imap
        .apply_action(&account, &sel, &action, confirmed)
        .await;
    let from_message = form.from.as_deref() == Some("message");
    let outcome: ActionOutcome = match outcome {
        Ok(o) => {
            if let Action::Label(k) = &action {
                crate::web::labels::remember_applied(&state, &account.username, k).await?;
            }
            o
        }
        Err(ActionError::NeedsConfirmation) => {
            return Ok(Redirect::to(&confirm_href(&mailbox, &form, &sel, &action)).into_response());
        }
        Err(ActionError::UidValidityChanged) => {
            return Ok(back_to_list(&place, &mailbox, "stale", 0));
        }
        Err(ActionError::NoSuchTarget) => {
            return Ok(back_to_list(&place, &mailbox, "no_target", 0));
        }
        Err(ActionError::SameFolder) => {
            return Ok(back_to_list(&place, &mailbox, "same_folder", 0));
        }
        Err(ActionError::NotPermitted) => {
            return Ok(back_to_list(&place, &mailbox, "not_permitted", 0));
        }
        Err(ActionError::LabelsNotStored) => {
            return Ok(back_to_list(&place, &mailbox, "labels_not_stored", 0));
        }
        Err(ActionError::Imap(e)) => return Err(e.into()),
    };
    if outcome.done == 0 && outcome.gone > 0 {
        return Ok(back_to_list(&place, &mailbox, "gone", outcome.gone));
    }
    if let (Some("1"), Action::Move(back)) = (form.undo.as_deref(), &action) {
        return Ok(Redirect::to(&undone_href(back, &outcome, from_message)).into_response());
    }
    // "Delete" inside Trash or Junk removed them for good: say that.
    let name = if outcome.permanent {
        "expunge"
    } else {
        action.name()
    };
    let key = format!("done.{name}");
    // Moved away (also to Trash, Archive, Junk): the notice offers to move them back.
    let moved = outcome.moved.as_ref().filter(|_| action.removes());
    if from_message {
        let uid = sel.uids[0];
        let next = form.next.as_deref().and_then(|n| parse_uid(n).ok());
        let target = match (&action, next) {
            // Reading it again would mark it read again: back to the list.
            (Action::Unread, _) => None,
            (a, Some(n)) if a.removes() => Some(format!(
                "{}?notice={key}&n={}",
                message_href(&mailbox, n),
                outcome.done
            )),
            (a, None) if a.removes() => None,
            _ => Some(message_href(&mailbox, uid)),
        };
        if let Some(t) = target {
            return Ok(Redirect::to(&undo::add_to(t, moved)).into_response());
        }
    }
    if outcome.gone > 0 {
        return Ok(back_to_list(&place, &mailbox, "gone_some", outcome.gone));
    }
    let href = place.list_href(&mailbox, Some((&key, outcome.done)));
    Ok(Redirect::to(&undo::add_to(href, moved)).into_response())
}

/// Where an Undo lands: the message again, in the folder it is back in (from the
/// message page), or that folder's list, with a notice.
fn undone_href(back: &str, outcome: &ActionOutcome, from_message: bool) -> String {
    match outcome.moved.as_ref().map(|m| m.uids.as_slice()) {
        Some([uid]) if from_message => {
            format!("{}?notice=done.undo&n=1", message_href(back, *uid))
        }
        _ => Place::default().list_href(back, Some(("done.undo", outcome.done))),
    }
}

/// 303 to the list at the user's place, with a notice.
fn back_to_list(place: &Place, mailbox: &str, notice: &str, n: usize) -> Response {
    Redirect::to(&place.list_href(mailbox, Some((notice, n)))).into_response()
}

/// The confirmation page's URL, carrying everything the final POST needs.
fn confirm_href(mailbox: &str, form: &ActionForm, sel: &Selection, action: &Action) -> String {
    let mut pairs: Vec<(&str, String)> = vec![("action", action.name().to_owned())];
    pairs.extend(sel.uids.iter().map(|u| ("uid", u.to_string())));
    if let Some(v) = sel.uidvalidity {
        pairs.push(("uidvalidity", v.to_string()));
    }
    for (k, v) in [("from", &form.from), ("next", &form.next)] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            pairs.push((k, v.to_owned()));
        }
    }
    pairs.extend(form.place().form_fields());
    let query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY_VALUE)))
        .collect::<Vec<_>>()
        .join("&");
    format!("/mail/{}/confirm?{query}", encode_segment(mailbox))
}

/// The "delete for good?" page.
#[derive(Template, WebTemplate)]
#[template(path = "pages/confirm_delete.html")]
pub struct ConfirmPage {
    l: Layout,
    question: String,
    action_href: String,
    /// Hidden fields of the final POST.
    fields: Vec<(&'static str, String)>,
    cancel_href: String,
}

/// `GET /mail/{mailbox}/confirm`: asks before deleting messages for good.
pub async fn confirm(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(mailbox): Path<String>,
    Query(q): Query<ActionForm>,
) -> Result<Response, AppError> {
    let place = q.place();
    let action = q.action.as_deref().unwrap_or_default();
    if !matches!(action, "delete" | "expunge") {
        return Err(AppError::BadRequest("error.bad.action"));
    }
    let uids: Vec<u32> = q
        .uid
        .iter()
        .map(|u| parse_uid(u))
        .collect::<Result<_, _>>()?;
    if uids.is_empty() {
        return Ok(
            Redirect::to(&place.list_href(&mailbox, Some(("none_selected", 0)))).into_response(),
        );
    }
    let folders = ctx.folders(&state.imap, &account).await?;
    let tr = ctx.tr;
    let mut fields: Vec<(&'static str, String)> =
        vec![("action", action.to_owned()), ("confirm", "1".to_owned())];
    fields.extend(uids.iter().map(|u| ("uid", u.to_string())));
    if let Some(v) = parse_validity(q.uidvalidity.as_deref())? {
        fields.push(("uidvalidity", v.to_string()));
    }
    for (k, v) in [("from", &q.from), ("next", &q.next)] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            fields.push((k, v.to_owned()));
        }
    }
    fields.extend(place.form_fields());
    let cancel_href = match (q.from.as_deref(), uids.as_slice()) {
        (Some("message"), [uid]) => message_href(&mailbox, *uid),
        _ => place.list_href(&mailbox, None),
    };
    let title = tr.t("confirm.delete.title");
    Ok(ConfirmPage {
        l: Layout::with_folders(&ctx, title, &account.username, &folders, Some(&mailbox)).await,
        question: tr.tf("confirm.delete.question", &[("count", uids.len().into())]),
        action_href: format!("/mail/{}/actions", encode_segment(&mailbox)),
        fields,
        cancel_href,
    }
    .into_response())
}

/// The "empty this folder?" page.
#[derive(Template, WebTemplate)]
#[template(path = "pages/confirm_empty.html")]
pub struct EmptyPage {
    l: Layout,
    question: String,
    action_href: String,
    uidvalidity: Option<u32>,
    cancel_href: String,
}

/// `?uidvalidity=` of the "Empty" link.
#[derive(Deserialize)]
pub struct EmptyQuery {
    uidvalidity: Option<String>,
}

/// Only Trash and Junk can be emptied: for anything else a slip of the finger would
/// cost real mail.
fn emptiable(folders: &[Folder], mailbox: &str) -> Result<(), AppError> {
    let role = folders
        .iter()
        .find(|f| f.name == mailbox)
        .ok_or(AppError::NotFound)?
        .special;
    if matches!(role, Some(SpecialUse::Trash | SpecialUse::Junk)) {
        Ok(())
    } else {
        Err(AppError::BadRequest("error.bad.empty"))
    }
}

/// `GET /mail/{mailbox}/empty`: asks before emptying Trash or Junk.
pub async fn empty_confirm(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(mailbox): Path<String>,
    Query(q): Query<EmptyQuery>,
) -> Result<Response, AppError> {
    let folders = ctx.folders(&state.imap, &account).await?;
    emptiable(&folders, &mailbox)?;
    let tr = ctx.tr;
    let folder = folders.iter().find(|f| f.name == mailbox);
    let label = folder
        .map(|f| folder_label(tr, f))
        .unwrap_or_else(|| mailbox.clone());
    let total = folder.map(|f| f.total).unwrap_or(0);
    let title = tr.tf("confirm.empty.title", &[("folder", label.as_str().into())]);
    Ok(EmptyPage {
        l: Layout::with_folders(&ctx, title, &account.username, &folders, Some(&mailbox)).await,
        question: tr.tf(
            "confirm.empty.question",
            &[("folder", label.as_str().into()), ("count", total.into())],
        ),
        action_href: format!("/mail/{}/empty", encode_segment(&mailbox)),
        uidvalidity: parse_validity(q.uidvalidity.as_deref())?,
        cancel_href: mailbox_href(&mailbox),
    }
    .into_response())
}

/// The empty form.
#[derive(Deserialize)]
pub struct EmptyForm {
    /// Missing is empty: the CSRF page, not a parse error.
    #[serde(default)]
    csrf_token: String,
    uidvalidity: Option<String>,
}

/// `POST /mail/{mailbox}/empty`: removes every message of Trash or Junk for good.
pub async fn empty(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path(mailbox): Path<String>,
    Form(form): Form<EmptyForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let folders = ctx.folders(&state.imap, &account).await?;
    emptiable(&folders, &mailbox)?;
    let validity = parse_validity(form.uidvalidity.as_deref())?;
    let place = Place::default();
    let href = match state.imap.empty_folder(&account, &mailbox, validity).await {
        Ok(o) => place.list_href(&mailbox, Some(("emptied", o.done))),
        Err(ActionError::UidValidityChanged) => place.list_href(&mailbox, Some(("stale", 0))),
        Err(ActionError::NotPermitted) => place.list_href(&mailbox, Some(("not_permitted", 0))),
        Err(ActionError::Imap(e)) => return Err(e.into()),
        Err(e) => return Err(AppError::Internal(anyhow::Error::new(e))),
    };
    Ok(Redirect::to(&href).into_response())
}

/// One choice of the "move to" / "copy to" menus.
pub struct TargetOption {
    /// Full folder name (the form value).
    pub name: String,
    /// Indented label.
    pub label: String,
}

/// Folders messages can be moved into: every selectable folder but the current one.
fn targets(tr: Tr, folders: &[Folder], current: &str) -> Vec<TargetOption> {
    folders
        .iter()
        .filter(|f| f.selectable && f.name != current)
        .map(|f| TargetOption {
            name: f.name.clone(),
            label: format!("{}{}", "\u{a0}\u{a0}".repeat(f.depth), folder_label(tr, f)),
        })
        .collect()
}

/// The role of the current folder (for "Not spam", "Delete for good", "Empty").
fn role(folders: &[Folder], mailbox: &str) -> Option<SpecialUse> {
    folders
        .iter()
        .find(|f| f.name == mailbox)
        .and_then(|f| f.special)
}

/// The toolbar of a list page (`templates/components/action_bar.html`): lives inside
/// the list's form, next to the table's checkboxes.
pub struct ActionBar {
    /// Where the form posts.
    pub action_href: String,
    /// The folder's UIDVALIDITY when the page was rendered.
    pub uidvalidity: u32,
    /// The user's place, as hidden fields.
    pub place: Vec<(&'static str, String)>,
    /// Every UID on the page, for "apply to all on this page".
    pub page_uids: Vec<u32>,
    /// (value, label) of the action menu.
    pub actions: Vec<(&'static str, &'static str)>,
    /// The move/copy menu.
    pub targets: Vec<TargetOption>,
    /// "Empty Trash" / "Empty Junk" link, in those folders.
    pub empty_href: Option<String>,
    /// The label menu (names), for `label` / `unlabel`.
    pub labels: Vec<String>,
}

impl ActionBar {
    /// The toolbar of folder `mailbox`, rendered with `uidvalidity`, showing `page_uids`.
    pub fn new(
        tr: Tr,
        mailbox: &str,
        uidvalidity: u32,
        place: &Place,
        folders: &[Folder],
        page_uids: Vec<u32>,
    ) -> ActionBar {
        let role = role(folders, mailbox);
        let bin = matches!(role, Some(SpecialUse::Trash | SpecialUse::Junk));
        let mut actions = vec![
            ("read", tr.t("action.read")),
            ("unread", tr.t("action.unread")),
            ("flag", tr.t("action.flag")),
            ("unflag", tr.t("action.unflag")),
            ("move", tr.t("action.move")),
            ("copy", tr.t("action.copy")),
        ];
        if role != Some(SpecialUse::Archive) {
            actions.push(("archive", tr.t("action.archive")));
        }
        if role == Some(SpecialUse::Junk) {
            actions.push(("notspam", tr.t("action.notspam")));
        } else {
            actions.push(("spam", tr.t("action.spam")));
        }
        actions.push(("label", tr.t("action.label_add")));
        actions.push(("unlabel", tr.t("action.label_remove")));
        if bin {
            actions.push(("delete", tr.t("action.delete_forever")));
        } else {
            actions.push(("delete", tr.t("action.delete")));
            actions.push(("expunge", tr.t("action.delete_forever")));
        }
        ActionBar {
            action_href: format!("/mail/{}/actions", encode_segment(mailbox)),
            uidvalidity,
            place: place.form_fields(),
            page_uids,
            actions,
            targets: targets(tr, folders, mailbox),
            empty_href: bin.then(|| {
                format!(
                    "/mail/{}/empty?uidvalidity={uidvalidity}",
                    encode_segment(mailbox)
                )
            }),
            labels: Vec::new(),
        }
    }

    /// Fills the label menu with the user's labels.
    pub fn with_labels(mut self, labels: &[crate::imap::Keyword]) -> ActionBar {
        self.labels = labels.iter().map(|k| k.name()).collect();
        self
    }
}

/// The buttons of the message page (`templates/components/message_actions.html`).
pub struct MessageActions {
    /// Where the forms post.
    pub action_href: String,
    /// This message.
    pub uid: u32,
    /// The folder's UIDVALIDITY.
    pub uidvalidity: u32,
    /// The message that opens after this one leaves the folder.
    pub next: Option<u32>,
    /// Link to the older neighbour (`j`).
    pub older_href: Option<String>,
    /// Link to the newer neighbour (`k`).
    pub newer_href: Option<String>,
    /// One button (and form) per action that makes sense here.
    pub buttons: Vec<ActionButton>,
    /// The move menu.
    pub targets: Vec<TargetOption>,
    /// `.eml` download.
    pub eml_href: String,
    /// All attachments as one zip, when there are attachments.
    pub zip_href: Option<String>,
    /// The message's labels (filled by the message page).
    pub labels: Vec<crate::web::labels::Chip>,
    /// Labels it does not have yet, for the "add label" menu.
    pub label_choices: Vec<String>,
}

impl MessageActions {
    /// The buttons of message `uid` of `mailbox`, from its place in the folder
    /// (UIDVALIDITY, flags, neighbours: see `Imap::open_message`).
    pub fn new(
        tr: Tr,
        mailbox: &str,
        uid: u32,
        place: &MessagePlace,
        folders: &[Folder],
        has_attachments: bool,
    ) -> MessageActions {
        let role = role(folders, mailbox);
        let base = message_href(mailbox, uid);
        MessageActions {
            action_href: format!("/mail/{}/actions", encode_segment(mailbox)),
            uid,
            uidvalidity: place.uidvalidity,
            next: place.older.or(place.newer),
            older_href: place.older.map(|u| message_href(mailbox, u)),
            newer_href: place.newer.map(|u| message_href(mailbox, u)),
            buttons: message_buttons(tr, role, place.flagged),
            targets: targets(tr, folders, mailbox),
            eml_href: format!("{base}/raw?download=1"),
            zip_href: has_attachments.then(|| format!("{base}/attachments.zip")),
            labels: Vec::new(),
            label_choices: Vec::new(),
        }
    }
}

/// One action button of the message page.
pub struct ActionButton {
    /// The `action` field.
    pub value: &'static str,
    /// The button's text.
    pub label: &'static str,
    /// Keyboard shortcut (`data-shortcut`), if any.
    pub shortcut: Option<&'static str>,
}

/// The message page's buttons, for a message in a folder with `role`: "unflag" when it
/// is flagged, "not spam" in Junk, no "archive" in Archive, "delete for good" in Trash
/// and Junk.
fn message_buttons(tr: Tr, role: Option<SpecialUse>, flagged: bool) -> Vec<ActionButton> {
    let b = |value, key: &str, shortcut| ActionButton {
        value,
        label: tr.t(key),
        shortcut,
    };
    let mut out = vec![b("unread", "action.unread", None)];
    out.push(if flagged {
        b("unflag", "action.unflag", None)
    } else {
        b("flag", "action.flag", None)
    });
    if role != Some(SpecialUse::Archive) {
        out.push(b("archive", "action.archive", Some("e")));
    }
    out.push(if role == Some(SpecialUse::Junk) {
        b("notspam", "action.notspam", None)
    } else {
        b("spam", "action.spam", None)
    });
    out.push(
        if matches!(role, Some(SpecialUse::Trash | SpecialUse::Junk)) {
            b("delete", "action.delete_forever", Some("#"))
        } else {
            b("delete", "action.delete", Some("#"))
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn place_round_trips_through_the_list_url() {
        let place = Place {
            page: Some("3".into()),
            sort: Some("from".into()),
            q: Some("报告 & co".into()),
            unread: Some(String::new()),
            ..Place::default()
        };
        assert_eq!(
            place.list_href("收件 箱", Some(("done.move", 2))),
            "/mail/%E6%94%B6%E4%BB%B6%20%E7%AE%B1?page=3&sort=from&q=%E6%8A%A5%E5%91%8A%20%26%20co&notice=done.move&n=2"
        );
        assert_eq!(Place::default().list_href("INBOX", None), "/mail/INBOX");
    }

    #[test]
    fn only_known_notices_are_shown() {
        let tr = Tr(Lang::En);
        assert!(notice_text(tr, Some("stale"), None).is_some());
        assert!(notice_text(tr, Some("done.move"), Some("3")).is_some_and(|t| t.contains('3')));
        assert_eq!(notice_text(tr, Some("<script>"), None), None);
        assert_eq!(notice_text(tr, None, None), None);
    }

    #[test]
    fn uid_fields_are_strict() {
        assert_eq!(parse_uid(" 7 ").ok(), Some(7));
        assert!(parse_uid("0").is_err() && parse_uid("x").is_err());
        assert_eq!(parse_validity(Some("")).ok(), Some(None));
        assert_eq!(parse_validity(Some("12")).ok(), Some(Some(12)));
        assert!(parse_validity(Some("-1")).is_err());
    }
}
