//! The mail-rule pages: filters (`/settings/rules`), the vacation reply
//! (`/settings/vacation`), forwarding (`/settings/forwarding`) and the raw Sieve editor
//! (`/settings/rules/advanced`). The rules live on the mail server ([`crate::sieve`]); these
//! handlers only read the form, change the [`Rules`] and hand the script to the server.
//!
//! Every save goes through [`sieve::Sieve::update`]: it reads the script, applies the one
//! change the form asked for and writes it whole, starting over from the newer script when
//! another browser or Mailroom instance saved in between, so neither change is lost. The
//! changes here are therefore written to be applied again safely (an added rule keeps its
//! id, a toggle carries the state the user asked for, a move names its neighbour). The
//! forms carry the [`sieve::version`] they were built from, to tell the user about a
//! merge and to stop the raw editor from overwriting newer rules. A form the server or the checks here refuse is shown again with what was typed;
//! a server that cannot be reached gives the error page. When Mailroom's script was edited
//! by hand, the forms refuse to overwrite it; when another script is active, saving keeps
//! it active and the page asks before replacing it.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use crate::{
    app::AppState,
    error::AppError,
    i18n::Tr,
    imap::{Account, Folder},
    mime::address,
    sieve::{
        self, SieveError,
        script::{self, Action, Condition, Field, Filter, Forwarding, Op, Rules, Vacation},
    },
    store::identities,
    web::{
        extract::CurrentUser,
        layout::{Layout, PageCtx},
        settings::sidebar_folders,
    },
};

/// Longest value, name or target in a rule, in characters.
const MAX_FIELD_CHARS: usize = 500;
/// Longest vacation message, in characters.
const MAX_BODY_CHARS: usize = 10_000;
/// Most filters one user keeps.
const MAX_FILTERS: usize = 200;
/// Most forwarding addresses.
const MAX_FORWARDS: usize = 10;
/// Largest script the advanced editor sends.
const MAX_SCRIPT_BYTES: usize = 512 * 1024;

/// What the pages say above their forms about the scripts on the server.
pub struct ScriptStatus {
    /// Another script is active: the page shows it and asks before replacing it.
    other_active: Option<OtherScript>,
    /// Mailroom's script was edited by hand: the forms do not change it.
    foreign: bool,
    /// Mailroom's script exists but is not the active one.
    inactive: bool,
}

/// The active script of another tool.
pub struct OtherScript {
    text: String,
    /// "“x” is active…", with the name filled in.
    message: String,
    /// The replace button's label.
    replace: String,
}

impl ScriptStatus {
    fn of(tr: Tr, state: &sieve::State) -> ScriptStatus {
        ScriptStatus {
            other_active: state.other_active.as_ref().map(|(name, text)| OtherScript {
                text: text.clone(),
                message: tr.tf("rules.status.other_active", &[("script", name.into())]),
                replace: tr.tf("rules.status.replace", &[("script", name.into())]),
            }),
            foreign: matches!(state.ours, Some(script::Parsed::Foreign)),
            inactive: state.ours.is_some() && !state.ours_active,
        }
    }
}

/// Loads the scripts, turning "not configured" into a not-found page and a dead server
/// into the error page.
async fn load(state: &AppState, account: &Account) -> Result<sieve::State, AppError> {
    if !state.sieve.configured(account) {
        return Err(AppError::NotFound);
    }
    Ok(state.sieve.load(account).await?)
}

/// What a save through [`save`] ended in, when it did not fail outright.
enum Outcome<E> {
    /// Stored; `merged` when another save had changed the script since the form was shown.
    Saved(sieve::Saved, bool),
    /// The change does not fit the script as it is now.
    Refused(E),
    /// Mailroom's script was edited by hand.
    Foreign,
    /// The server refused the script, with its message.
    Rejected(String),
}

/// Applies `change` to the rules on the server (see [`sieve::Sieve::update`]); `base` is
/// the version the form was built from.
async fn save<E>(
    state: &AppState,
    account: &Account,
    base: &str,
    change: impl FnMut(&mut Rules) -> Result<(), E>,
) -> Result<Outcome<E>, AppError> {
    match state.sieve.update(account, base, change).await {
        Ok(sieve::Update::Saved { saved, merged }) => Ok(Outcome::Saved(saved, merged)),
        Ok(sieve::Update::Refused(e)) => Ok(Outcome::Refused(e)),
        Ok(sieve::Update::Foreign) => Ok(Outcome::Foreign),
        Err(SieveError::Rejected { message, .. }) => Ok(Outcome::Rejected(message)),
        Err(e) => Err(e.into()),
    }
}

/// Where a successful save goes, saying whether the script is active and whether another
/// window's change was kept alongside.
fn saved_redirect(path: &str, saved: sieve::Saved, merged: bool) -> Response {
    let flag = match saved {
        sieve::Saved::Inactive => "inactive",
        sieve::Saved::Active if merged => "merged",
        sieve::Saved::Active => "1",
    };
    Redirect::to(&format!("{path}?saved={flag}")).into_response()
}

/// The notice for `?saved=…`.
fn notice(saved: Option<&str>) -> Option<&'static str> {
    match saved {
        Some("inactive") => Some("rules.saved_inactive"),
        Some("merged") => Some("rules.saved_merged"),
        Some(_) => Some("rules.saved"),
        None => None,
    }
}

/// The page status: 422 when a form is shown again with errors.
fn respond(page: impl IntoResponse, failed: bool) -> Response {
    let mut res = page.into_response();
    if failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    res
}

/// The layout of a rule page titled by catalog key `title`, and the folders it was built from.
async fn layout(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    title: &str,
) -> Result<(Layout, Vec<Folder>), AppError> {
    let folders = sidebar_folders(state, ctx, account).await?;
    let l = Layout::with_folders(ctx, ctx.tr.t(title), &account.username, &folders, None).await;
    Ok((l, folders))
}

/// `?saved=` after a POST.
#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
    /// The filters page: the id of the rule to load into the form.
    edit: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Filters

/// The new-rule form's fields, kept as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RuleFields {
    #[serde(default)]
    csrf_token: String,
    /// Set when an existing rule is edited.
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    header: String,
    #[serde(default)]
    op: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    keep: Option<String>,
    /// The optional second action (`""`: none), its target and its keep box.
    #[serde(default)]
    action2: String,
    #[serde(default)]
    target2: String,
    keep2: Option<String>,
    /// The [`sieve::version`] of the script the form was built from.
    #[serde(default)]
    version: String,
    /// `all` (the default) or `any`: how the two conditions combine.
    #[serde(default, rename = "match")]
    combine: String,
    /// The optional second condition.
    #[serde(default)]
    field2: String,
    #[serde(default)]
    header2: String,
    #[serde(default)]
    op2: String,
    #[serde(default)]
    value2: String,
    /// "Stop here": later rules do not see the message.
    stop: Option<String>,
}

/// Which field an error belongs to, and its catalog key.
#[derive(Debug, Default)]
pub struct RuleErrors {
    header: Option<&'static str>,
    value: Option<&'static str>,
    target: Option<&'static str>,
    name: Option<&'static str>,
    /// The second condition (any of its fields).
    value2: Option<&'static str>,
    /// The second action, or how it combines with the first.
    target2: Option<&'static str>,
    /// Above the form: the server refused, or the script cannot be changed.
    form: Option<String>,
}

impl RuleErrors {
    fn any(&self) -> bool {
        self.header.is_some()
            || self.value.is_some()
            || self.target.is_some()
            || self.name.is_some()
            || self.value2.is_some()
            || self.target2.is_some()
            || self.form.is_some()
    }
}

/// One rule in the list.
pub struct RuleRow {
    id: String,
    name: String,
    summary: String,
    enabled: bool,
    first: bool,
    last: bool,
    /// The ids of the rules above and below, so "up" and "down" name what they pass.
    prev: String,
    next: String,
}

/// `templates/pages/rules.html`.
#[derive(Template, WebTemplate)]
#[template(path = "pages/rules.html")]
pub struct RulesPage {
    l: Layout,
    notice: Option<&'static str>,
    status: ScriptStatus,
    rows: Vec<RuleRow>,
    /// Folders a rule can file into (full names).
    folders: Vec<String>,
    form: RuleFields,
    errors: RuleErrors,
    /// The [`sieve::version`] of the script shown, carried by every form.
    version: String,
}

/// The text of one field's choice, for summaries.
fn field_label(tr: Tr, f: &Field) -> String {
    match f {
        Field::From => tr.t("rules.field.from").to_owned(),
        Field::To => tr.t("rules.field.to").to_owned(),
        Field::Subject => tr.t("rules.field.subject").to_owned(),
        Field::Header(name) => name.clone(),
        Field::SizeOver => tr.t("rules.field.size_over").to_owned(),
        Field::SizeUnder => tr.t("rules.field.size_under").to_owned(),
    }
}

/// "Subject contains “x” → Move to 项目" for the list.
fn summary(tr: Tr, f: &Filter) -> String {
    let conds: Vec<String> = f
        .conditions
        .iter()
        .map(|c| {
            let op = match c.op {
                Op::Contains => tr.t("rules.op.contains"),
                Op::Is => tr.t("rules.op.is"),
                Op::Matches => tr.t("rules.op.matches"),
            };
            match c.field {
                Field::SizeOver | Field::SizeUnder => {
                    format!("{} {}", field_label(tr, &c.field), c.value)
                }
                _ => format!("{} {op} “{}”", field_label(tr, &c.field), c.value),
            }
        })
        .collect();
    let acts: Vec<String> = f
        .actions
        .iter()
        .map(|a| match a {
            Action::Move(t) => tr.tf("rules.summary.move", &[("folder", t.into())]),
            Action::Copy(t) => tr.tf("rules.summary.copy", &[("folder", t.into())]),
            Action::Read => tr.t("rules.action.read").to_owned(),
            Action::Flag => tr.t("rules.action.flag").to_owned(),
            Action::Label(k) => tr.tf("rules.summary.label", &[("label", k.into())]),
            Action::Forward { address, keep } => {
                let key = if *keep {
                    "rules.summary.forward_keep"
                } else {
                    "rules.summary.forward"
                };
                tr.tf(key, &[("address", address.into())])
            }
            Action::Discard => tr.t("rules.action.discard").to_owned(),
            Action::Stop => tr.t("rules.action.stop").to_owned(),
        })
        .collect();
    let joiner = if f.any {
        tr.t("rules.summary.or")
    } else {
        tr.t("rules.summary.and")
    };
    format!("{} → {}", conds.join(joiner), acts.join(", "))
}

/// Folder names a rule may file into.
fn folder_choices(folders: &[Folder]) -> Vec<String> {
    folders
        .iter()
        .filter(|f| f.selectable)
        .map(|f| f.name.clone())
        .collect()
}

async fn render_rules(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    loaded: &sieve::State,
    notice: Option<&'static str>,
    form: RuleFields,
    errors: RuleErrors,
) -> Result<Response, AppError> {
    let tr = ctx.tr;
    let (l, folders) = layout(state, ctx, account, "rules.title").await?;
    let filters = loaded.rules().map(|r| r.filters).unwrap_or_default();
    let n = filters.len();
    let failed = errors.any();
    let page = RulesPage {
        l,
        notice,
        status: ScriptStatus::of(tr, loaded),
        rows: filters
            .iter()
            .enumerate()
            .map(|(i, f)| RuleRow {
                id: f.id.clone(),
                name: f.name.clone(),
                summary: summary(tr, f),
                enabled: f.enabled,
                first: i == 0,
                last: i + 1 == n,
                prev: i
                    .checked_sub(1)
                    .and_then(|p| filters.get(p))
                    .map(|p| p.id.clone())
                    .unwrap_or_default(),
                next: filters.get(i + 1).map(|p| p.id.clone()).unwrap_or_default(),
            })
            .collect(),
        folders: folder_choices(&folders),
        form,
        errors,
        version: sieve::version(loaded.ours_text.as_deref()),
    };
    Ok(respond(page, failed))
}

/// `GET /settings/rules`.
pub async fn show(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Query(q): Query<SavedQuery>,
) -> Result<Response, AppError> {
    let loaded = load(&state, &account).await?;
    let editing = q.edit.as_deref().and_then(|id| {
        loaded
            .rules()
            .and_then(|r| r.filters.into_iter().find(|f| f.id == id))
    });
    let form = match editing {
        Some(f) => fields_of(&f),
        None if q.edit.is_some() => return Err(AppError::NotFound),
        None => RuleFields {
            field: "from".into(),
            op: "contains".into(),
            action: "move".into(),
            ..RuleFields::default()
        },
    };
    render_rules(
        &state,
        &ctx,
        &account,
        &loaded,
        notice(q.saved.as_deref()),
        form,
        RuleErrors::default(),
    )
    .await
}

/// The form showing an existing rule, for editing. Rules made by the form have one or
/// two conditions and one or two actions (plus "stop"), so every one of them fits.
fn fields_of(f: &Filter) -> RuleFields {
    fn cond(c: Option<&Condition>) -> (String, String, String, String) {
        let Some(c) = c else {
            return (
                "from".into(),
                String::new(),
                "contains".into(),
                String::new(),
            );
        };
        let (field, header) = match &c.field {
            Field::From => ("from", String::new()),
            Field::To => ("to", String::new()),
            Field::Subject => ("subject", String::new()),
            Field::Header(h) => ("header", h.clone()),
            Field::SizeOver => ("size_over", String::new()),
            Field::SizeUnder => ("size_under", String::new()),
        };
        let op = match c.op {
            Op::Contains => "contains",
            Op::Is => "is",
            Op::Matches => "matches",
        };
        (field.into(), header, op.into(), c.value.clone())
    }
    let (field, header, op, value) = cond(f.conditions.first());
    let (field2, header2, op2, value2) = cond(f.conditions.get(1));
    let mut form = RuleFields {
        id: f.id.clone(),
        name: f.name.clone(),
        field,
        header,
        op,
        value,
        field2,
        header2,
        op2,
        value2,
        combine: if f.any { "any" } else { "all" }.into(),
        ..RuleFields::default()
    };
    let mut n = 0;
    for a in &f.actions {
        let mut keep = None;
        let (action, target) = match a {
            Action::Move(t) => ("move", t.clone()),
            Action::Copy(t) => ("copy", t.clone()),
            Action::Read => ("read", String::new()),
            Action::Flag => ("flag", String::new()),
            Action::Label(k) => ("label", k.clone()),
            Action::Forward { address, keep: k } => {
                keep = k.then(|| "1".to_owned());
                ("forward", address.clone())
            }
            Action::Discard => ("discard", String::new()),
            Action::Stop => {
                form.stop = Some("1".into());
                continue;
            }
        };
        if n == 0 {
            (form.action, form.target, form.keep) = (action.into(), target, keep);
        } else {
            (form.action2, form.target2, form.keep2) = (action.into(), target, keep);
        }
        n += 1;
    }
    form
}

/// One action from its form fields, or the catalog key of what is wrong with it.
fn parse_action(
    action: &str,
    target: &str,
    keep: bool,
    folders: &[String],
    username: &str,
) -> Result<Action, &'static str> {
    let target = target.trim();
    match action {
        "move" | "copy" if !folders.iter().any(|f| f == target) => Err("rules.error.folder"),
        "move" => Ok(Action::Move(target.to_owned())),
        "copy" => Ok(Action::Copy(target.to_owned())),
        "read" => Ok(Action::Read),
        "flag" => Ok(Action::Flag),
        "label" if script::validate_keyword(target) => Ok(Action::Label(target.to_owned())),
        "label" => Err("rules.error.label"),
        "forward" => match address::parse_email(target) {
            Ok(a) if a.eq_ignore_ascii_case(username) => Err("rules.error.forward_self"),
            Ok(a) => Ok(Action::Forward { address: a, keep }),
            Err(_) => Err("rules.error.address"),
        },
        "discard" => Ok(Action::Discard),
        _ => Err("rules.error.action"),
    }
}

/// Which field of a condition is wrong, with the catalog key of the message.
enum CondError {
    Header(&'static str),
    Value(&'static str),
}

/// One condition from its four form fields.
fn parse_condition(
    field: &str,
    header: &str,
    op: &str,
    value: &str,
) -> Result<Condition, CondError> {
    let value = value.trim();
    let op = match op {
        "contains" | "" => Op::Contains,
        "is" => Op::Is,
        "matches" => Op::Matches,
        _ => return Err(CondError::Value("rules.error.op")),
    };
    let field = match field {
        "from" => Field::From,
        "to" => Field::To,
        "subject" => Field::Subject,
        "header" => {
            let name = header.trim();
            if !script::validate_header_name(name) {
                return Err(CondError::Header("rules.error.header"));
            }
            Field::Header(name.to_owned())
        }
        "size_over" | "size_under" => {
            let size = value.to_ascii_uppercase();
            if !script::validate_size(&size) {
                return Err(CondError::Value("rules.error.size"));
            }
            let field = if field == "size_over" {
                Field::SizeOver
            } else {
                Field::SizeUnder
            };
            return Ok(Condition {
                field,
                op,
                value: size,
            });
        }
        _ => return Err(CondError::Header("rules.error.field")),
    };
    if value.is_empty() {
        return Err(CondError::Value("rules.error.value_empty"));
    }
    if value.chars().count() > MAX_FIELD_CHARS || value.chars().any(char::is_control) {
        return Err(CondError::Value("rules.error.value"));
    }
    Ok(Condition {
        field,
        op,
        value: value.to_owned(),
    })
}

/// Checks the new-rule form; `folders` are the folders a rule may file into.
fn parse_rule(form: &RuleFields, folders: &[String], username: &str) -> Result<Filter, RuleErrors> {
    let mut errors = RuleErrors::default();
    let too_long = |s: &str| s.chars().count() > MAX_FIELD_CHARS;
    let one_line = |s: &str| !s.chars().any(char::is_control);
    let first = parse_condition(&form.field, &form.header, &form.op, &form.value);
    let first = match first {
        Ok(c) => Some(c),
        Err(CondError::Header(k)) => {
            errors.header = Some(k);
            None
        }
        Err(CondError::Value(k)) => {
            errors.value = Some(k);
            None
        }
    };
    // The optional second condition counts only when its value is filled in.
    let second = if form.value2.trim().is_empty() {
        None
    } else {
        match parse_condition(&form.field2, &form.header2, &form.op2, &form.value2) {
            Ok(c) => Some(c),
            Err(CondError::Header(k) | CondError::Value(k)) => {
                errors.value2 = Some(k);
                None
            }
        }
    };
    let name = form.name.trim();
    if too_long(name) || !one_line(name) {
        errors.name = Some("rules.error.name");
    }
    let keep = form.keep.is_some();
    let action = parse_action(&form.action, &form.target, keep, folders, username)
        .map_err(|k| errors.target = Some(k))
        .ok();
    // The optional second action counts only when one is chosen.
    let action2 = if form.action2.is_empty() {
        None
    } else {
        let keep2 = form.keep2.is_some();
        match parse_action(&form.action2, &form.target2, keep2, folders, username) {
            Ok(a) => Some(a),
            Err(k) => {
                errors.target2 = Some(k);
                None
            }
        }
    };
    if let (Some(a), Some(b)) = (&action, &action2) {
        if matches!(a, Action::Discard) || matches!(b, Action::Discard) {
            // "Delete for good" cancels filing and flagging; with another action it
            // would do something other than what the form says.
            errors.target2 = Some("rules.error.discard_alone");
        } else if a == b {
            errors.target2 = Some("rules.error.same_action");
        }
    }
    if errors.any() {
        return Err(errors);
    }
    let (Some(first), Some(action)) = (first, action) else {
        return Err(errors);
    };
    // Order does not matter here: the script sets flags before it files (see `script`).
    let mut actions: Vec<Action> = std::iter::once(action).chain(action2).collect();
    if form.stop.is_some() {
        actions.push(Action::Stop);
    }
    Ok(Filter {
        id: crate::ids::random_token(6),
        name: if name.is_empty() {
            first.value.clone()
        } else {
            name.to_owned()
        },
        enabled: true,
        any: form.combine == "any",
        conditions: std::iter::once(first.clone()).chain(second).collect(),
        actions,
    })
}

/// `POST /settings/rules`: adds a rule at the end.
pub async fn create(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Form(form): Form<RuleFields>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    if !state.sieve.configured(&account) {
        return Err(AppError::NotFound);
    }
    let folders = folder_choices(&sidebar_folders(&state, &ctx, &account).await?);
    let filter = match parse_rule(
        &form,
        &folders,
        &state.directory.address_of(&account.username),
    ) {
        Ok(f) => f,
        Err(errors) => {
            let loaded = load(&state, &account).await?;
            return render_rules(&state, &ctx, &account, &loaded, None, form, errors).await;
        }
    };
    // Applied to the newest rules, perhaps more than once (see `sieve::Sieve::update`):
    // a new rule is added once, by its id; an edit replaces the rule with that id.
    let change = |rules: &mut Rules| -> Result<(), &'static str> {
        if form.id.is_empty() {
            if rules.filters.iter().any(|f| f.id == filter.id) {
                return Ok(());
            }
            if rules.filters.len() >= MAX_FILTERS {
                return Err("rules.error.too_many");
            }
            rules.filters.push(filter.clone());
            return Ok(());
        }
        // Editing keeps the rule's place, id and on/off state.
        let old = rules
            .filters
            .iter_mut()
            .find(|f| f.id == form.id)
            .ok_or("rules.error.gone")?;
        *old = Filter {
            id: old.id.clone(),
            enabled: old.enabled,
            ..filter.clone()
        };
        Ok(())
    };
    let outcome = save(&state, &account, &form.version, change).await?;
    let mut form = form;
    let message = match outcome {
        Outcome::Saved(saved, merged) => {
            return Ok(saved_redirect("/settings/rules", saved, merged));
        }
        Outcome::Refused(key) => {
            if key == "rules.error.gone" {
                // Deleted in another window: saving the form again adds it anew.
                form.id.clear();
            }
            ctx.tr.t(key).to_owned()
        }
        Outcome::Foreign => ctx.tr.t("rules.error.foreign").to_owned(),
        Outcome::Rejected(message) => ctx
            .tr
            .tf("rules.error.server", &[("reason", message.into())]),
    };
    let errors = RuleErrors {
        form: Some(message),
        ..RuleErrors::default()
    };
    let loaded = load(&state, &account).await?;
    render_rules(&state, &ctx, &account, &loaded, None, form, errors).await
}

/// The list buttons' form: besides the token, what the user saw when clicking.
#[derive(Debug, Default, Deserialize)]
pub struct ChangeFields {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    version: String,
    /// Toggle: the state asked for (`1` on, `0` off), so a second click elsewhere does
    /// not flip it back.
    enabled: Option<String>,
    /// Up and down: the rule to pass.
    #[serde(default)]
    neighbour: String,
}

/// Puts rule `id` right before (`after` false) or after `neighbour`; nothing when either
/// is gone, which also makes doing it twice harmless.
fn place(rules: &mut Rules, id: &str, neighbour: &str, after: bool) {
    let Some(i) = rules.filters.iter().position(|f| f.id == id) else {
        return;
    };
    if !rules.filters.iter().any(|f| f.id == neighbour) || id == neighbour {
        return;
    }
    let rule = rules.filters.remove(i);
    let Some(j) = rules.filters.iter().position(|f| f.id == neighbour) else {
        return;
    };
    rules.filters.insert(if after { j + 1 } else { j }, rule);
}

/// `POST /settings/rules/{id}/{verb}`: `toggle`, `delete`, `up` or `down`.
pub async fn change(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path((id, verb)): Path<(String, String)>,
    Form(form): Form<ChangeFields>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    if !matches!(verb.as_str(), "toggle" | "delete" | "up" | "down") {
        return Err(AppError::NotFound);
    }
    if !state.sieve.configured(&account) {
        return Err(AppError::NotFound);
    }
    // Fixed on the first application, so applying it again changes nothing more.
    let mut enabled = form.enabled.as_deref().map(|v| v == "1");
    let mut neighbour = (!form.neighbour.is_empty()).then(|| form.neighbour.clone());
    let mut deleted = false;
    let change = |rules: &mut Rules| -> Result<(), &'static str> {
        let Some(i) = rules.filters.iter().position(|f| f.id == id) else {
            // Gone before the first try: deleted elsewhere (or never this user's).
            // Gone on a later try: this delete already happened.
            return if deleted {
                Ok(())
            } else {
                Err("rules.error.gone")
            };
        };
        match verb.as_str() {
            "delete" => {
                rules.filters.remove(i);
                deleted = true;
            }
            "toggle" => {
                let on = *enabled.get_or_insert(!rules.filters[i].enabled);
                rules.filters[i].enabled = on;
            }
            "up" => {
                let other = neighbour.get_or_insert_with(|| {
                    i.checked_sub(1)
                        .map(|p| rules.filters[p].id.clone())
                        .unwrap_or_default()
                });
                place(rules, &id, other, false);
            }
            _ => {
                let other = neighbour.get_or_insert_with(|| {
                    rules
                        .filters
                        .get(i + 1)
                        .map(|f| f.id.clone())
                        .unwrap_or_default()
                });
                place(rules, &id, other, true);
            }
        }
        Ok(())
    };
    let message = match save(&state, &account, &form.version, change).await? {
        Outcome::Saved(saved, merged) => {
            return Ok(saved_redirect("/settings/rules", saved, merged));
        }
        Outcome::Refused(key) => ctx.tr.t(key).to_owned(),
        Outcome::Foreign => return Err(AppError::BadRequest("rules.error.foreign")),
        Outcome::Rejected(message) => {
            return Err(AppError::Internal(anyhow::anyhow!(
                "the server refused Mailroom's own script: {message}"
            )));
        }
    };
    // No such rule (deleted elsewhere): the list as it is now, saying so, as a 404.
    let loaded = load(&state, &account).await?;
    let errors = RuleErrors {
        form: Some(message),
        ..RuleErrors::default()
    };
    let form = RuleFields {
        field: "from".into(),
        op: "contains".into(),
        action: "move".into(),
        ..RuleFields::default()
    };
    let mut res = render_rules(&state, &ctx, &account, &loaded, None, form, errors).await?;
    *res.status_mut() = StatusCode::NOT_FOUND;
    Ok(res)
}

/// `POST /settings/rules/activate`: the user agreed to replace the active script.
pub async fn activate(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Form(form): Form<crate::web::layout::CsrfForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let loaded = load(&state, &account).await?;
    if loaded.ours.is_none() {
        // Nothing to activate yet: store the empty rule set first.
        state
            .sieve
            .save(&account, &script::generate(&Rules::default()), true)
            .await?;
    } else {
        state.sieve.activate(&account).await?;
    }
    Ok(Redirect::to("/settings/rules?saved=1").into_response())
}

// ---------------------------------------------------------------------------------------
// Vacation

/// The vacation form's fields, kept as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct VacationFields {
    #[serde(default)]
    csrf_token: String,
    enabled: Option<String>,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    days: String,
}

/// Errors beside the vacation fields.
#[derive(Default)]
pub struct VacationErrors {
    subject: Option<&'static str>,
    body: Option<&'static str>,
    dates: Option<&'static str>,
    days: Option<&'static str>,
    form: Option<String>,
}

impl VacationErrors {
    fn any(&self) -> bool {
        self.subject.is_some()
            || self.body.is_some()
            || self.dates.is_some()
            || self.days.is_some()
            || self.form.is_some()
    }
}

/// `templates/pages/vacation.html`.
#[derive(Template, WebTemplate)]
#[template(path = "pages/vacation.html")]
pub struct VacationPage {
    l: Layout,
    notice: Option<&'static str>,
    status: ScriptStatus,
    form: VacationFields,
    errors: VacationErrors,
    /// The user's other addresses that are answered too.
    addresses: Vec<String>,
}

/// The user's identities other than the login name: mail to them gets the reply too.
async fn other_addresses(state: &AppState, username: &str) -> Result<Vec<String>, AppError> {
    let own = state.directory.address_of(username);
    Ok(identities::list(&state.db, username, &own)
        .await?
        .into_iter()
        .map(|i| i.email)
        .filter(|e| !e.eq_ignore_ascii_case(&own))
        .collect())
}

async fn render_vacation(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    loaded: &sieve::State,
    notice: Option<&'static str>,
    form: VacationFields,
    errors: VacationErrors,
) -> Result<Response, AppError> {
    let tr = ctx.tr;
    let (l, _) = layout(state, ctx, account, "vacation.title").await?;
    let failed = errors.any();
    let page = VacationPage {
        l,
        notice,
        status: ScriptStatus::of(tr, loaded),
        form,
        errors,
        addresses: other_addresses(state, &account.username).await?,
    };
    Ok(respond(page, failed))
}

/// `GET /settings/vacation`.
pub async fn vacation_show(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Query(q): Query<SavedQuery>,
) -> Result<Response, AppError> {
    let loaded = load(&state, &account).await?;
    let v = loaded.rules().and_then(|r| r.vacation);
    let form = match v {
        Some(v) => VacationFields {
            enabled: v.enabled.then(|| "1".to_owned()),
            subject: v.subject,
            body: v.body,
            start: v.start.unwrap_or_default(),
            end: v.end.unwrap_or_default(),
            days: v.days.to_string(),
            ..VacationFields::default()
        },
        None => VacationFields {
            days: "7".into(),
            ..VacationFields::default()
        },
    };
    render_vacation(
        &state,
        &ctx,
        &account,
        &loaded,
        notice(q.saved.as_deref()),
        form,
        VacationErrors::default(),
    )
    .await
}

fn parse_vacation(form: &VacationFields) -> Result<Vacation, VacationErrors> {
    let mut errors = VacationErrors::default();
    let enabled = form.enabled.is_some();
    let subject = form.subject.trim();
    if subject.chars().any(char::is_control) || subject.chars().count() > MAX_FIELD_CHARS {
        errors.subject = Some("vacation.error.subject");
    }
    let body = form.body.replace("\r\n", "\n");
    let body = body.trim_end();
    if enabled && body.trim().is_empty() {
        errors.body = Some("vacation.error.body_empty");
    } else if body.chars().count() > MAX_BODY_CHARS {
        errors.body = Some("vacation.error.body_long");
    }
    let date = |d: &str| -> Result<Option<String>, ()> {
        let d = d.trim();
        if d.is_empty() {
            Ok(None)
        } else if script::validate_date(d) {
            Ok(Some(d.to_owned()))
        } else {
            Err(())
        }
    };
    let (start, end) = match (date(&form.start), date(&form.end)) {
        (Ok(s), Ok(e)) => {
            if let (Some(s), Some(e)) = (&s, &e)
                && e < s
            {
                errors.dates = Some("vacation.error.order");
            }
            (s, e)
        }
        _ => {
            errors.dates = Some("vacation.error.date");
            (None, None)
        }
    };
    let days = match form.days.trim().parse::<u32>() {
        Ok(d) if (1..=60).contains(&d) => d,
        _ => {
            errors.days = Some("vacation.error.days");
            7
        }
    };
    if errors.any() {
        return Err(errors);
    }
    Ok(Vacation {
        enabled,
        subject: subject.to_owned(),
        body: body.to_owned(),
        start,
        end,
        days,
        addresses: Vec::new(),
    })
}

/// `POST /settings/vacation`.
pub async fn vacation_update(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Form(form): Form<VacationFields>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    if !state.sieve.configured(&account) {
        return Err(AppError::NotFound);
    }
    let mut vacation = match parse_vacation(&form) {
        Ok(v) => v,
        Err(errors) => {
            let loaded = load(&state, &account).await?;
            return render_vacation(&state, &ctx, &account, &loaded, None, form, errors).await;
        }
    };
    vacation.addresses = other_addresses(&state, &account.username).await?;
    let change = |rules: &mut Rules| -> Result<(), ()> {
        rules.vacation = Some(vacation.clone());
        Ok(())
    };
    let message = match save(&state, &account, "", change).await? {
        Outcome::Saved(saved, _) => return Ok(saved_redirect("/settings/vacation", saved, false)),
        Outcome::Refused(()) | Outcome::Foreign => ctx.tr.t("rules.error.foreign").to_owned(),
        Outcome::Rejected(message) => ctx
            .tr
            .tf("rules.error.server", &[("reason", message.into())]),
    };
    let errors = VacationErrors {
        form: Some(message),
        ..VacationErrors::default()
    };
    let loaded = load(&state, &account).await?;
    render_vacation(&state, &ctx, &account, &loaded, None, form, errors).await
}

// ---------------------------------------------------------------------------------------
// Forwarding

/// The forwarding form's fields, kept as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ForwardingFields {
    #[serde(default)]
    csrf_token: String,
    enabled: Option<String>,
    /// One or more addresses, separated by commas or line breaks.
    #[serde(default)]
    addresses: String,
    keep: Option<String>,
}

/// `templates/pages/forwarding.html`.
#[derive(Template, WebTemplate)]
#[template(path = "pages/forwarding.html")]
pub struct ForwardingPage {
    l: Layout,
    notice: Option<&'static str>,
    status: ScriptStatus,
    form: ForwardingFields,
    error: Option<String>,
}

async fn render_forwarding(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    loaded: &sieve::State,
    notice: Option<&'static str>,
    form: ForwardingFields,
    error: Option<String>,
) -> Result<Response, AppError> {
    let tr = ctx.tr;
    let (l, _) = layout(state, ctx, account, "forwarding.title").await?;
    let failed = error.is_some();
    let page = ForwardingPage {
        l,
        notice,
        status: ScriptStatus::of(tr, loaded),
        form,
        error,
    };
    Ok(respond(page, failed))
}

/// `GET /settings/forwarding`.
pub async fn forwarding_show(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Query(q): Query<SavedQuery>,
) -> Result<Response, AppError> {
    let loaded = load(&state, &account).await?;
    let form = match loaded.rules().and_then(|r| r.forwarding) {
        Some(f) => ForwardingFields {
            enabled: f.enabled.then(|| "1".to_owned()),
            addresses: f.addresses.join(", "),
            keep: f.keep.then(|| "1".to_owned()),
            ..ForwardingFields::default()
        },
        None => ForwardingFields {
            keep: Some("1".into()),
            ..ForwardingFields::default()
        },
    };
    render_forwarding(
        &state,
        &ctx,
        &account,
        &loaded,
        notice(q.saved.as_deref()),
        form,
        None,
    )
    .await
}

/// The addresses of the forwarding form, or the catalog key of what is wrong.
fn parse_forwarding(form: &ForwardingFields, username: &str) -> Result<Forwarding, &'static str> {
    let enabled = form.enabled.is_some();
    let mut addresses = Vec::new();
    for item in form.addresses.split([',', '\n', '\r', ';']) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let a = address::parse_email(item).map_err(|_| "forwarding.error.address")?;
        if a.eq_ignore_ascii_case(username) {
            return Err("rules.error.forward_self");
        }
        if !addresses.contains(&a) {
            addresses.push(a);
        }
    }
    if enabled && addresses.is_empty() {
        return Err("forwarding.error.empty");
    }
    if addresses.len() > MAX_FORWARDS {
        return Err("forwarding.error.too_many");
    }
    Ok(Forwarding {
        enabled,
        addresses,
        keep: form.keep.is_some(),
    })
}

/// `POST /settings/forwarding`.
pub async fn forwarding_update(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Form(form): Form<ForwardingFields>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let tr = ctx.tr;
    if !state.sieve.configured(&account) {
        return Err(AppError::NotFound);
    }
    let forwarding = match parse_forwarding(&form, &state.directory.address_of(&account.username)) {
        Ok(f) => f,
        Err(key) => {
            let error = Some(tr.t(key).to_owned());
            let loaded = load(&state, &account).await?;
            return render_forwarding(&state, &ctx, &account, &loaded, None, form, error).await;
        }
    };
    let change = |rules: &mut Rules| -> Result<(), ()> {
        rules.forwarding = Some(forwarding.clone());
        Ok(())
    };
    let error = match save(&state, &account, "", change).await? {
        Outcome::Saved(saved, _) => {
            return Ok(saved_redirect("/settings/forwarding", saved, false));
        }
        Outcome::Refused(()) | Outcome::Foreign => tr.t("rules.error.foreign").to_owned(),
        Outcome::Rejected(message) => tr.tf("rules.error.server", &[("reason", message.into())]),
    };
    let loaded = load(&state, &account).await?;
    render_forwarding(&state, &ctx, &account, &loaded, None, form, Some(error)).await
}

// ---------------------------------------------------------------------------------------
// Advanced: the raw script

/// The editor's fields.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AdvancedFields {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    script: String,
    /// The [`sieve::version`] of the script the editor was opened on.
    #[serde(default)]
    version: String,
}

/// One line of the script, numbered, marked when the server reported an error there.
pub struct NumberedLine {
    number: usize,
    text: String,
    error: bool,
}

/// `templates/pages/rules_advanced.html`.
#[derive(Template, WebTemplate)]
#[template(path = "pages/rules_advanced.html")]
pub struct AdvancedPage {
    l: Layout,
    notice: Option<&'static str>,
    status: ScriptStatus,
    /// Every script on the server, for the user's information.
    scripts: Vec<(String, bool)>,
    script: String,
    /// The server's CHECKSCRIPT errors, each with its line if it named one.
    errors: Vec<(Option<usize>, String)>,
    /// The script with numbered lines, shown when there are errors.
    lines: Vec<NumberedLine>,
    warnings: Option<String>,
    /// The [`sieve::version`] of the script on the server when the page was built.
    version: String,
}

/// Splits a CHECKSCRIPT error text into messages with their line numbers
/// (Pigeonhole writes `line 3: error: …`).
fn script_errors(text: &str) -> Vec<(Option<usize>, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let line = l
                .strip_prefix("line ")
                .and_then(|rest| rest.split_once(':'))
                .and_then(|(n, _)| n.trim().parse().ok());
            (line, l.to_owned())
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn render_advanced(
    state: &AppState,
    ctx: &PageCtx,
    account: &Account,
    loaded: &sieve::State,
    notice: Option<&'static str>,
    script: String,
    errors: Vec<(Option<usize>, String)>,
    warnings: Option<String>,
) -> Result<Response, AppError> {
    let tr = ctx.tr;
    let (l, _) = layout(state, ctx, account, "advanced.title").await?;
    let failed = !errors.is_empty();
    let lines = if failed {
        script
            .replace("\r\n", "\n")
            .split('\n')
            .enumerate()
            .map(|(i, t)| NumberedLine {
                number: i + 1,
                text: t.to_owned(),
                error: errors.iter().any(|(n, _)| *n == Some(i + 1)),
            })
            .collect()
    } else {
        Vec::new()
    };
    let page = AdvancedPage {
        l,
        notice,
        status: ScriptStatus::of(tr, loaded),
        scripts: loaded
            .scripts
            .iter()
            .map(|s| (s.name.clone(), s.active))
            .collect(),
        script,
        errors,
        lines,
        warnings,
        version: sieve::version(loaded.ours_text.as_deref()),
    };
    Ok(respond(page, failed))
}

/// `GET /settings/rules/advanced`.
pub async fn advanced_show(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Query(q): Query<SavedQuery>,
) -> Result<Response, AppError> {
    let loaded = load(&state, &account).await?;
    let script = loaded
        .ours_text
        .clone()
        .unwrap_or_else(|| script::generate(&Rules::default()));
    let n = notice(q.saved.as_deref());
    render_advanced(&state, &ctx, &account, &loaded, n, script, Vec::new(), None).await
}

/// `POST /settings/rules/advanced`: checks the script on the server, then stores it as
/// Mailroom's script.
pub async fn advanced_update(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Form(form): Form<AdvancedFields>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let loaded = load(&state, &account).await?;
    let script = form.script;
    if script.len() > MAX_SCRIPT_BYTES {
        let errors = vec![(None, ctx.tr.t("advanced.error.too_long").to_owned())];
        return render_advanced(&state, &ctx, &account, &loaded, None, script, errors, None).await;
    }
    if !form.version.is_empty() && form.version != sieve::version(loaded.ours_text.as_deref()) {
        // The whole script is replaced here, so a newer one would be lost: the user
        // sees the text they typed and decides.
        let errors = vec![(None, ctx.tr.t("advanced.error.changed").to_owned())];
        return render_advanced(&state, &ctx, &account, &loaded, None, script, errors, None).await;
    }
    let warnings = match state.sieve.check(&account, &script).await {
        Ok(w) => w,
        Err(SieveError::Rejected { message, .. }) => {
            let errors = script_errors(&message);
            return render_advanced(&state, &ctx, &account, &loaded, None, script, errors, None)
                .await;
        }
        Err(e) => return Err(e.into()),
    };
    match state.sieve.save(&account, &script, false).await {
        Ok(saved) if warnings.is_none() => {
            Ok(saved_redirect("/settings/rules/advanced", saved, false))
        }
        Ok(_) => {
            let loaded = load(&state, &account).await?;
            let n = Some("rules.saved");
            render_advanced(
                &state,
                &ctx,
                &account,
                &loaded,
                n,
                script,
                Vec::new(),
                warnings,
            )
            .await
        }
        Err(SieveError::Rejected { message, .. }) => {
            let errors = script_errors(&message);
            render_advanced(&state, &ctx, &account, &loaded, None, script, errors, None).await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_addresses() {
        let form = |a: &str, enabled: bool| ForwardingFields {
            addresses: a.into(),
            enabled: enabled.then(|| "1".into()),
            ..ForwardingFields::default()
        };
        let f =
            parse_forwarding(&form("a@x.test, b@x.test\nA@x.test;", true), "me@x.test").unwrap();
        assert_eq!(f.addresses, ["a@x.test", "b@x.test", "A@x.test"]);
        assert!(!f.keep);
        assert_eq!(
            parse_forwarding(&form("", true), "me@x.test").unwrap_err(),
            "forwarding.error.empty"
        );
        assert!(parse_forwarding(&form("", false), "me@x.test").is_ok());
        assert_eq!(
            parse_forwarding(&form("me@x.test", true), "me@x.test").unwrap_err(),
            "rules.error.forward_self"
        );
        assert_eq!(
            parse_forwarding(&form("a@@x", true), "me@x.test").unwrap_err(),
            "forwarding.error.address"
        );
    }

    #[test]
    fn checkscript_errors_keep_their_lines() {
        let e = script_errors(
            "line 3: error: unknown command 'fileinot'.\r\nerror: validation failed.\r\n",
        );
        assert_eq!(
            e,
            [
                (
                    Some(3),
                    "line 3: error: unknown command 'fileinot'.".to_owned()
                ),
                (None, "error: validation failed.".to_owned()),
            ]
        );
    }

    fn fields(field: &str, op: &str, value: &str, action: &str, target: &str) -> RuleFields {
        RuleFields {
            field: field.into(),
            op: op.into(),
            value: value.into(),
            action: action.into(),
            target: target.into(),
            ..RuleFields::default()
        }
    }

    #[test]
    fn rule_form_checks() {
        let folders = vec!["INBOX".to_owned(), "项目".to_owned()];
        let f = parse_rule(
            &fields("subject", "contains", "报告", "move", "项目"),
            &folders,
            "me@x",
        )
        .unwrap();
        assert_eq!(f.name, "报告");
        assert_eq!(f.actions, [Action::Move("项目".into())]);
        let e = parse_rule(
            &fields("subject", "contains", " ", "move", "项目"),
            &folders,
            "me@x",
        )
        .unwrap_err();
        assert_eq!(e.value, Some("rules.error.value_empty"));
        let e =
            parse_rule(&fields("from", "is", "a", "move", "Nope"), &folders, "me@x").unwrap_err();
        assert_eq!(e.target, Some("rules.error.folder"));
        let e = parse_rule(
            &fields("from", "is", "a", "forward", "not an address"),
            &folders,
            "me@x",
        )
        .unwrap_err();
        assert_eq!(e.target, Some("rules.error.address"));
        let e = parse_rule(&fields("header", "is", "a", "flag", ""), &folders, "me@x").unwrap_err();
        assert_eq!(e.header, Some("rules.error.header"));
        let e =
            parse_rule(&fields("from", "is", "a\nb", "flag", ""), &folders, "me@x").unwrap_err();
        assert_eq!(e.value, Some("rules.error.value"));
        let e = parse_rule(
            &fields("from", "is", "a", "label", "two words"),
            &folders,
            "me@x",
        )
        .unwrap_err();
        assert_eq!(e.target, Some("rules.error.label"));
        let e = parse_rule(
            &fields("from", "is", "a", "forward", "ME@x.test"),
            &folders,
            "me@x.test",
        )
        .unwrap_err();
        assert_eq!(e.target, Some("rules.error.forward_self"));
    }

    fn two(action: &str, target: &str, action2: &str, target2: &str) -> RuleFields {
        RuleFields {
            action2: action2.into(),
            target2: target2.into(),
            ..fields("subject", "contains", "x", action, target)
        }
    }

    #[test]
    fn a_second_action_is_checked_and_combined() {
        let folders = vec!["INBOX".to_owned(), "项目".to_owned()];
        let f = parse_rule(&two("move", "项目", "read", ""), &folders, "me@x").unwrap();
        assert_eq!(f.actions, [Action::Move("项目".into()), Action::Read]);
        // The script marks the message read before it files it, so the copy in 项目 is read.
        let text = script::generate(&Rules {
            filters: vec![f.clone()],
            ..Rules::default()
        });
        assert!(
            text.contains("  addflag \"\\\\Seen\";\n  fileinto :create \"项目\";\n}"),
            "{text}"
        );
        // It round-trips through the edit form.
        let form = fields_of(&f);
        assert_eq!(
            (form.action.as_str(), form.target.as_str()),
            ("move", "项目")
        );
        assert_eq!((form.action2.as_str(), form.target2.as_str()), ("read", ""));
        let again = parse_rule(&form, &folders, "me@x").unwrap();
        assert_eq!(again.actions, f.actions);

        let mut fwd = two("flag", "", "forward", "a@x.test");
        fwd.keep2 = Some("1".into());
        fwd.stop = Some("1".into());
        let f = parse_rule(&fwd, &folders, "me@x").unwrap();
        assert_eq!(
            f.actions,
            [
                Action::Flag,
                Action::Forward {
                    address: "a@x.test".into(),
                    keep: true
                },
                Action::Stop
            ]
        );
        let form = fields_of(&f);
        assert_eq!(form.keep, None);
        assert_eq!(form.keep2.as_deref(), Some("1"));
        assert_eq!(form.stop.as_deref(), Some("1"));

        // No second action: one action, as before.
        let f = parse_rule(&two("flag", "", "", "junk"), &folders, "me@x").unwrap();
        assert_eq!(f.actions, [Action::Flag]);

        let e = parse_rule(&two("move", "项目", "discard", ""), &folders, "me@x").unwrap_err();
        assert_eq!(e.target2, Some("rules.error.discard_alone"));
        let e = parse_rule(&two("discard", "", "read", ""), &folders, "me@x").unwrap_err();
        assert_eq!(e.target2, Some("rules.error.discard_alone"));
        let e = parse_rule(&two("read", "", "read", ""), &folders, "me@x").unwrap_err();
        assert_eq!(e.target2, Some("rules.error.same_action"));
        let e = parse_rule(&two("read", "", "copy", "Nope"), &folders, "me@x").unwrap_err();
        assert_eq!(e.target2, Some("rules.error.folder"));
        assert_eq!(e.target, None);
        let e = parse_rule(&two("read", "", "bogus", ""), &folders, "me@x").unwrap_err();
        assert_eq!(e.target2, Some("rules.error.action"));
    }

    fn rule(id: &str) -> Filter {
        Filter {
            id: id.into(),
            name: id.into(),
            enabled: true,
            any: false,
            conditions: Vec::new(),
            actions: vec![Action::Read],
        }
    }

    fn ids(r: &Rules) -> Vec<&str> {
        r.filters.iter().map(|f| f.id.as_str()).collect()
    }

    #[test]
    fn moving_a_rule_past_its_neighbour_is_safe_to_repeat() {
        let mut r = Rules {
            filters: vec![rule("a"), rule("b"), rule("c")],
            ..Rules::default()
        };
        place(&mut r, "c", "b", false);
        assert_eq!(ids(&r), ["a", "c", "b"]);
        place(&mut r, "c", "b", false);
        assert_eq!(ids(&r), ["a", "c", "b"], "applied again: no change");
        place(&mut r, "a", "b", true);
        assert_eq!(ids(&r), ["c", "b", "a"]);
        place(&mut r, "a", "gone", false);
        place(&mut r, "gone", "a", false);
        place(&mut r, "a", "a", false);
        assert_eq!(ids(&r), ["c", "b", "a"]);
    }
}
