//! Downloads: one message as `.eml`, a message's attachments as one `.zip`, and a
//! whole folder as an mbox file, streamed (the folder never sits in memory whole).
//!
//! Filenames come from subjects and folder names, which anyone can choose: they go
//! through `mime::sanitize_filename` and RFC 6266 encoding (`message::content_disposition`).

use std::io::Write as _;

use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use futures::StreamExt;
use zip::{CompressionMethod, ZipWriter, write::SimpleFileOptions};

use crate::{
    app::AppState,
    error::AppError,
    mime,
    web::{extract::CurrentUser, message::content_disposition},
};

/// CSP of downloads: nothing runs, even if a browser decided to render one.
const DOWNLOAD_CSP: &str = "default-src 'none'; sandbox";

/// Sets the headers every download shares.
fn download_headers(res: &mut Response, content_type: &'static str, filename: &str) {
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&content_disposition(false, filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOWNLOAD_CSP),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
}

/// A download name from a subject (or `fallback` when it has none), with `ext`.
fn filename_from(subject: &str, fallback: &str, ext: &str) -> String {
    let stem = if subject.trim().is_empty() {
        fallback
    } else {
        subject
    };
    // Shorten before sanitizing so the extension survives the length cap; a slash in
    // a subject is not a directory.
    let stem: String = stem
        .chars()
        .take(100)
        .map(|c| if c == '/' || c == '\\' { '_' } else { c })
        .collect();
    mime::sanitize_filename(&format!("{stem}.{ext}"))
}

/// `GET /mail/{mailbox}/{uid}/raw?download=1`: the message exactly as stored, as an
/// `.eml` file named after its subject. Called by `message::raw`.
pub fn eml_response(raw: &[u8]) -> Response {
    let subject = mime::parse(raw).map(|v| v.subject).unwrap_or_default();
    let mut res = raw.to_vec().into_response();
    download_headers(
        &mut res,
        "message/rfc822",
        &filename_from(&subject, "message", "eml"),
    );
    res
}

/// `GET /mail/{mailbox}/{uid}/attachments.zip`: every attachment of the message, byte
/// for byte, in one zip (deflated). Two attachments with the same name are kept apart
/// as `name (2).ext`.
pub async fn attachments_zip(
    State(state): State<AppState>,
    CurrentUser(account): CurrentUser,
    Path((mailbox, uid)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let uid = uid
        .parse::<u32>()
        .ok()
        .filter(|&u| u > 0)
        .ok_or(AppError::BadRequest("error.bad.uid"))?;
    let raw = state.imap.fetch_raw(&account, &mailbox, uid).await?;
    let view = mime::parse(&raw).map_err(|e| AppError::Internal(anyhow::Error::new(e)))?;
    if view.attachments.is_empty() {
        return Err(AppError::NotFound);
    }
    let mut names = std::collections::HashSet::new();
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for a in &view.attachments {
        let Some(part) = mime::part(&raw, &a.part) else {
            continue;
        };
        let name = unique_name(&mut names, &a.filename);
        zip.start_file(name, options)
            .and_then(|()| zip.write_all(&part.bytes).map_err(Into::into))
            .map_err(|e| AppError::Internal(anyhow::Error::new(e)))?;
    }
    let bytes = zip
        .finish()
        .map_err(|e| AppError::Internal(anyhow::Error::new(e)))?
        .into_inner();
    let mut res = bytes.into_response();
    download_headers(
        &mut res,
        "application/zip",
        &filename_from(&view.subject, "attachments", "zip"),
    );
    Ok(res)
}

/// `name`, or `name (2).ext`, `name (3).ext`… if taken; remembers the result.
fn unique_name(taken: &mut std::collections::HashSet<String>, name: &str) -> String {
    let mut candidate = name.to_owned();
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s, format!(".{e}")),
        _ => (name, String::new()),
    };
    let mut n = 2;
    while !taken.insert(candidate.to_lowercase()) {
        candidate = format!("{stem} ({n}){ext}");
        n += 1;
    }
    candidate
}

/// `GET /export/{mailbox}`: the folder as an mbox file (mboxrd), streamed in chunks.
pub async fn mbox(
    State(state): State<AppState>,
    CurrentUser(account): CurrentUser,
    Path(mailbox): Path<String>,
) -> Result<Response, AppError> {
    let stream = state.imap.export_mbox(&account, &mailbox).await?;
    let stream = stream.map(|chunk| {
        chunk.map_err(|e| {
            // The download is cut short; the browser reports it as failed.
            tracing::warn!(error = %e, "mbox export failed part-way");
            e
        })
    });
    let mut res = Body::from_stream(stream).into_response();
    let name = mailbox.rsplit('/').next().unwrap_or(&mailbox);
    download_headers(
        &mut res,
        "application/mbox",
        &filename_from(name, "folder", "mbox"),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_come_from_subjects() {
        assert_eq!(
            filename_from("Re: 报告/2026", "message", "eml"),
            "Re_ 报告_2026.eml"
        );
        assert_eq!(filename_from("  ", "message", "eml"), "message.eml");
        assert_eq!(filename_from("a: b?", "m", "zip"), "a_ b_.zip");
        let long = "x".repeat(500);
        assert!(filename_from(&long, "m", "eml").ends_with(".eml"));
    }

    #[test]
    fn duplicate_names_are_numbered() {
        let mut taken = std::collections::HashSet::new();
        assert_eq!(unique_name(&mut taken, "a.pdf"), "a.pdf");
        assert_eq!(unique_name(&mut taken, "A.pdf"), "A (2).pdf");
        assert_eq!(unique_name(&mut taken, "a.pdf"), "a (3).pdf");
        assert_eq!(unique_name(&mut taken, "README"), "README");
        assert_eq!(unique_name(&mut taken, "README"), "README (2)");
    }
}
