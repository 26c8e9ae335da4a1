//! The mail-rule pages: filters (`/settings/rules`), the vacation reply
//! (`/settings/vacation`), forwarding (`/settings/forwarding`) and the raw Sieve editor
//! (`/settings/rules/advanced`). The rules live on the mail server ([`crate::sieve`]); these
//! handlers only read the form, change the [`Rules`] and hand the script to the server.
//!
//! Every save reads the script first and writes it whole, so all three pages share one
//! script. A form the server or the checks here refuse is shown again with what was typed;
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
                message: tr.tf("rules.status.other_active", &[name]),
                replace: tr.tf("rules.status.replace", &[name]),
            }),
            foreign: matches!(state.ours, Some(script::Parsed::Foreign)),
            inactive: state.ours.is_some() && !state.ours_active,
        }
    }
}

/// Loads the scripts, turning "not configured" into a not-found page and a dead server
/// into the error page.
async fn load(state: &AppState, account: &Account) -> Result<sieve::State, AppError> {
    if !state.sieve.configured() {
        return Err(AppError::NotFound);
    }
    Ok(state.sieve.load(account).await?)
}

/// Saves `rules`; a script the server refuses comes back as its message.
async fn save(
    state: &AppState,
    account: &Account,
    rules: &Rules,
) -> Result<Result<sieve::Saved, String>, AppError> {
    match state
        .sieve
        .save(account, &script::generate(rules), false)
        .await
    {
        Ok(saved) => Ok(Ok(saved)),
        Err(SieveError::Rejected { message, .. }) => Ok(Err(message)),
        Err(e) => Err(e.into()),
    }
}

/// Where a successful save goes, saying whether the script is active.
fn saved_redirect(path: &str, saved: sieve::Saved) -> Response {
    let flag = match saved {
        sieve::Saved::Active => "1",
        sieve::Saved::Inactive => "inactive",
    };
    Redirect::to(&format!("{path}?saved={flag}")).into_response()
}

/// The notice for `?saved=…`.
fn notice(saved: Option<&str>) -> Option<&'static str> {
    match saved {
        Some("inactive") => Some("rules.saved_inactive"),
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
            Action::Move(t) => tr.tf("rules.summary.move", &[t]),
            Action::Copy(t) => tr.tf("rules.summary.copy", &[t]),
            Action::Read => tr.t("rules.action.read").to_owned(),
            Action::Flag => tr.t("rules.action.flag").to_owned(),
            Action::Label(k) => tr.tf("rules.summary.label", &[k]),
            Action::Forward { address, keep } => {
                let key = if *keep {
                    "rules.summary.forward_keep"
                } else {
                    "rules.summary.forward"
                };
                tr.tf(key, &[address])
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
            })
            .collect(),
        folders: folder_choices(&folders),
        form,
        errors,
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
/// two conditions and one action (plus "stop"), so every one of them fits.
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
    for a in &f.actions {
        let (action, target) = match a {
            Action::Move(t) => ("move", t.clone()),
            Action::Copy(t) => ("copy", t.clone()),
            Action::Read => ("read", String::new()),
            Action::Flag => ("flag", String::new()),
            Action::Label(k) => ("label", k.clone()),
            Action::Forward { address, keep } => {
                form.keep = keep.then(|| "1".to_owned());
                ("forward", address.clone())
            }
            Action::Discard => ("discard", String::new()),
            Action::Stop => {
                form.stop = Some("1".into());
                continue;
            }
        };
        form.action = action.into();
        form.target = target;
    }
    form
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
    let target = form.target.trim();
    let keep = form.keep.is_some();
    let action = match form.action.as_str() {
        "move" | "copy" if !folders.iter().any(|f| f == target) => {
            errors.target = Some("rules.error.folder");
            None
        }
        "move" => Some(Action::Move(target.to_owned())),
        "copy" => Some(Action::Copy(target.to_owned())),
        "read" => Some(Action::Read),
        "flag" => Some(Action::Flag),
        "label" if script::validate_keyword(target) => Some(Action::Label(target.to_owned())),
        "label" => {
            errors.target = Some("rules.error.label");
            None
        }
        "forward" => match address::parse_email(target) {
            Ok(a) if a.eq_ignore_ascii_case(username) => {
                errors.target = Some("rules.error.forward_self");
                None
            }
            Ok(a) => Some(Action::Forward { address: a, keep }),
            Err(_) => {
                errors.target = Some("rules.error.address");
                None
            }
        },
        "discard" => Some(Action::Discard),
        _ => {
            errors.target = Some("rules.error.action");
            None
        }
    };
    if errors.any() {
        return Err(errors);
    }
    let (Some(first), Some(action)) = (first, action) else {
        return Err(errors);
    };
    let mut actions = vec![action];
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
    let loaded = load(&state, &account).await?;
    let folders = folder_choices(&sidebar_folders(&state, &ctx, &account).await?);
    let filter = match parse_rule(&form, &folders, &account.username) {
        Ok(f) => f,
        Err(errors) => {
            return render_rules(&state, &ctx, &account, &loaded, None, form, errors).await;
        }
    };
    let Some(mut rules) = loaded.rules() else {
        let errors = RuleErrors {
            form: Some(ctx.tr.t("rules.error.foreign").to_owned()),
            ..RuleErrors::default()
        };
        return render_rules(&state, &ctx, &account, &loaded, None, form, errors).await;
    };
    if form.id.is_empty() && rules.filters.len() >= MAX_FILTERS {
        let errors = RuleErrors {
            form: Some(ctx.tr.t("rules.error.too_many").to_owned()),
            ..RuleErrors::default()
        };
        return render_rules(&state, &ctx, &account, &loaded, None, form, errors).await;
    }
    if form.id.is_empty() {
        rules.filters.push(filter);
    } else {
        // Editing keeps the rule's place, id and on/off state.
        let old = rules
            .filters
            .iter_mut()
            .find(|f| f.id == form.id)
            .ok_or(AppError::NotFound)?;
        *old = Filter {
            id: old.id.clone(),
            enabled: old.enabled,
            ..filter
        };
    }
    match save(&state, &account, &rules).await? {
        Ok(saved) => Ok(saved_redirect("/settings/rules", saved)),
        Err(message) => {
            let errors = RuleErrors {
                form: Some(ctx.tr.tf("rules.error.server", &[&message])),
                ..RuleErrors::default()
            };
            render_rules(&state, &ctx, &account, &loaded, None, form, errors).await
        }
    }
}

/// `POST /settings/rules/{id}/{verb}`: `toggle`, `delete`, `up` or `down`.
pub async fn change(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path((id, verb)): Path<(String, String)>,
    Form(form): Form<crate::web::layout::CsrfForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let loaded = load(&state, &account).await?;
    let Some(mut rules) = loaded.rules() else {
        return Err(AppError::BadRequest("rules.error.foreign"));
    };
    let i = rules
        .filters
        .iter()
        .position(|f| f.id == id)
        .ok_or(AppError::NotFound)?;
    match verb.as_str() {
        "toggle" => rules.filters[i].enabled = !rules.filters[i].enabled,
        "delete" => {
            rules.filters.remove(i);
        }
        "up" if i > 0 => rules.filters.swap(i, i - 1),
        "down" if i + 1 < rules.filters.len() => rules.filters.swap(i, i + 1),
        "up" | "down" => {}
        _ => return Err(AppError::NotFound),
    }
    match save(&state, &account, &rules).await? {
        Ok(saved) => Ok(saved_redirect("/settings/rules", saved)),
        Err(message) => Err(AppError::Internal(anyhow::anyhow!(
            "the server refused Mailroom's own script: {message}"
        ))),
    }
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
    Ok(identities::list(&state.db, username)
        .await?
        .into_iter()
        .map(|i| i.email)
        .filter(|e| !e.eq_ignore_ascii_case(username))
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
    let loaded = load(&state, &account).await?;
    let mut vacation = match parse_vacation(&form) {
        Ok(v) => v,
        Err(errors) => {
            return render_vacation(&state, &ctx, &account, &loaded, None, form, errors).await;
        }
    };
    let Some(mut rules) = loaded.rules() else {
        let errors = VacationErrors {
            form: Some(ctx.tr.t("rules.error.foreign").to_owned()),
            ..VacationErrors::default()
        };
        return render_vacation(&state, &ctx, &account, &loaded, None, form, errors).await;
    };
    vacation.addresses = other_addresses(&state, &account.username).await?;
    rules.vacation = Some(vacation);
    match save(&state, &account, &rules).await? {
        Ok(saved) => Ok(saved_redirect("/settings/vacation", saved)),
        Err(message) => {
            let errors = VacationErrors {
                form: Some(ctx.tr.tf("rules.error.server", &[&message])),
                ..VacationErrors::default()
            };
            render_vacation(&state, &ctx, &account, &loaded, None, form, errors).await
        }
    }
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
    let loaded = load(&state, &account).await?;
    let forwarding = match parse_forwarding(&form, &account.username) {
        Ok(f) => f,
        Err(key) => {
            let error = Some(tr.t(key).to_owned());
            return render_forwarding(&state, &ctx, &account, &loaded, None, form, error).await;
        }
    };
    let Some(mut rules) = loaded.rules() else {
        let error = Some(tr.t("rules.error.foreign").to_owned());
        return render_forwarding(&state, &ctx, &account, &loaded, None, form, error).await;
    };
    rules.forwarding = Some(forwarding);
    match save(&state, &account, &rules).await? {
        Ok(saved) => Ok(saved_redirect("/settings/forwarding", saved)),
        Err(message) => {
            let error = Some(tr.tf("rules.error.server", &[&message]));
            render_forwarding(&state, &ctx, &account, &loaded, None, form, error).await
        }
    }
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
        Ok(saved) if warnings.is_none() => Ok(saved_redirect("/settings/rules/advanced", saved)),
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
}
