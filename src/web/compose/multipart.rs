//! Reading the compose form's multipart body: the fields, and the files within the size
//! limit. A body too large is read to its end (so the browser gets our answer) and the
//! form comes back with a message; only past [`body_limit`] does the upload stop short.

use axum::extract::{DefaultBodyLimit, Multipart};

use super::ComposeForm;
use crate::{
    config::Config,
    mime::{self, compose as build},
    send::staging::NewFile,
};

/// The multipart body limit of `POST /compose`: half again the message size limit plus a
/// megabyte. Up to this we read everything and refuse politely (the form comes back with
/// a message); only beyond it does the upload stop short.
pub fn body_limit(config: &Config) -> DefaultBodyLimit {
    let max = config.max_message_size;
    let cap = max.saturating_add(max / 2).saturating_add(1024 * 1024);
    DefaultBodyLimit::max(usize::try_from(cap).unwrap_or(usize::MAX))
}

/// Everything read from the multipart body.
pub(super) struct Posted {
    pub(super) form: ComposeForm,
    pub(super) uploads: Vec<NewFile>,
    /// Files left out because they would pass the size limit.
    pub(super) refused: Vec<String>,
    /// The body stopped short (over the hard cap, or malformed).
    pub(super) truncated: bool,
}

/// Reads the multipart body. Files past the size limit are read to the end (so the
/// browser gets our answer) but not kept; a body past the hard cap stops early, and
/// whatever came before it is kept.
pub(super) async fn read_multipart(mut mp: Multipart, limit: u64) -> Posted {
    let mut posted = Posted {
        form: ComposeForm::default(),
        uploads: Vec::new(),
        refused: Vec::new(),
        truncated: false,
    };
    let mut total: u64 = 0;
    loop {
        let mut field = match mp.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                tracing::info!(error = %e, "compose: multipart body cut short");
                posted.truncated = true;
                break;
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "attachments" {
            let filename = field.file_name().unwrap_or_default().to_owned();
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_owned();
            let mut data = Vec::new();
            let mut over = false;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        if over {
                            continue;
                        }
                        let next = (data.len() + chunk.len()) as u64;
                        if build::encoded_size(total + next) > limit {
                            over = true;
                            data = Vec::new();
                        } else {
                            data.extend_from_slice(&chunk);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::info!(error = %e, "compose: upload cut short");
                        posted.truncated = true;
                        over = true;
                        break;
                    }
                }
            }
            if filename.is_empty() && data.is_empty() && !over {
                // The empty file input of a form sent without a file.
                continue;
            }
            let filename = mime::sanitize_filename(&filename);
            if over {
                posted.refused.push(filename);
                if posted.truncated {
                    break;
                }
            } else {
                total += data.len() as u64;
                posted.uploads.push(NewFile {
                    filename,
                    content_type,
                    data,
                });
            }
            continue;
        }
        let value = match field.text().await {
            Ok(v) => v,
            Err(e) => {
                tracing::info!(error = %e, "compose: form field cut short");
                posted.truncated = true;
                break;
            }
        };
        let f = &mut posted.form;
        match name.as_str() {
            "compose_id" => f.compose_id = value,
            "from" => f.from = value,
            "to" => f.to = value,
            "cc" => f.cc = value,
            "bcc" => f.bcc = value,
            "subject" => f.subject = value,
            // Browsers send CRLF; keep LF in the form, the builder writes CRLF.
            "body" => f.body = value.replace("\r\n", "\n"),
            "body_html" => f.body_html = value.replace("\r\n", "\n"),
            "request_mdn" => f.request_mdn = !value.is_empty(),
            "request_dsn" => f.request_dsn = !value.is_empty(),
            "priority" => f.priority = value,
            "forward_mode" => f.forward_mode = value,
            "origin" => f.origin = value,
            "include_original" => f.include_original = value == "1",
            "confirm_empty" => f.confirm_empty = value == "1",
            "in_reply_to" => f.in_reply_to = value,
            "references" => f.references = value,
            "draft" => f.draft = value,
            "back" => f.back = value,
            "send_at" => f.send_at = value,
            "staged" => f.staged.push(value),
            "action" => f.action = value,
            "csrf_token" => f.csrf_token = value,
            _ => {}
        }
    }
    posted
}
