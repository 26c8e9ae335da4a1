//! The read-receipt answer from the message page (RFC 8098): the receipt is worded here,
//! in the reader's language, and sent by [`crate::send`].

use axum::{
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::mailer;
use crate::{
    app::AppState,
    error::AppError,
    imap::MessageFlag,
    mime::compose::{self as build, Mdn},
    model::Address,
    send::{Claimed, ReceiptSent},
    store,
    web::{extract::CurrentUser, format, layout::PageCtx, message_href},
};

/// The read-receipt answer from the message page.
#[derive(Debug, Deserialize)]
pub struct ReceiptForm {
    #[serde(default)]
    csrf_token: String,
    /// `send` or `ignore`.
    #[serde(default)]
    action: String,
}

/// `POST /mail/{mailbox}/{uid}/receipt`: sends the read receipt the message asked for
/// (once: `$MDNSent` is checked and a claim taken first), or declines it. Either way
/// `$MDNSent` is set so the question is not asked again (RFC 3503).
pub async fn receipt(
    State(state): State<AppState>,
    ctx: PageCtx,
    CurrentUser(account): CurrentUser,
    Path((mailbox, uid)): Path<(String, String)>,
    axum::Form(form): axum::Form<ReceiptForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf_token)?;
    let uid: u32 = uid
        .parse()
        .ok()
        .filter(|&u| u > 0)
        .ok_or(AppError::BadRequest("error.bad.uid"))?;
    let back = message_href(&mailbox, uid);
    if state
        .imap
        .has_flag(&account, &mailbox, uid, MessageFlag::MdnSent)
        .await?
    {
        return Ok(Redirect::to(&back).into_response());
    }
    if form.action == "send" {
        let mailer = mailer(&state);
        let o = mailer.original(&account, &mailbox, uid).await?;
        let Some(to) = o.mdn_to.clone() else {
            return Err(AppError::BadRequest("error.bad.receipt"));
        };
        let identity = store::identities::default_for(
            &state.db,
            &account.username,
            &state.directory.address_of(&account.username),
        )
        .await?;
        let key = format!(
            "mdn:{}",
            o.message_id
                .clone()
                .unwrap_or_else(|| format!("{mailbox}/{uid}"))
        );
        let ticket = match mailer.claim(&account.username, &key).await? {
            Claimed::Won(ticket) => ticket,
            Claimed::AlreadySent { .. } => return Ok(Redirect::to(&back).into_response()),
        };
        let from = Address {
            name: Some(identity.display_name.clone()).filter(|n| !n.trim().is_empty()),
            email: identity.email.clone(),
        };
        let tr = ctx.tr;
        let zone = crate::zone::user_zone(&state.db, &account.username, &state.config).await;
        let subject = format::subject(tr, &o.subject);
        let mdn = Mdn {
            subject: tr.tf("receipt.subject", &[("subject", subject.as_str().into())]),
            text: tr.tf(
                "receipt.text",
                &[
                    ("date", (format::full_date(o.date, zone)).into()),
                    ("recipient", from.email.as_str().into()),
                    ("subject", subject.as_str().into()),
                ],
            ),
            from,
            to,
            original_message_id: o.message_id.clone(),
            original_headers: o.raw_headers.clone(),
            message_id: build::new_message_id(&identity.email),
            date: time::OffsetDateTime::now_utc().unix_timestamp(),
        };
        if let ReceiptSent::NotSent(e) = mailer.send_receipt(&account, ticket, &mdn, &back).await? {
            return Err(AppError::Unreachable(e.to_string()));
        }
    }
    state
        .imap
        .add_flag(&account, &mailbox, uid, MessageFlag::MdnSent)
        .await?;
    Ok(Redirect::to(&back).into_response())
}
