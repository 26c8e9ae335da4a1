//! Downloads: one message as `.eml`, a message's attachments as one `.zip`, and a
//! whole folder as an mbox file. The zip and the mbox are streamed (neither the archive
//! nor the folder ever sits in memory whole); parsing and zipping run on the blocking pool.
//!
//! Filenames come from subjects and folder names, which anyone can choose: they go
//! through `mime::sanitize_filename` and RFC 6266 encoding (`message::content_disposition`).

use std::{io::Write, sync::Arc};

use axum::{
    body::{Body, Bytes},
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
    web::{
        Precompressed,
        extract::CurrentUser,
        message::{blocking, content_disposition},
    },
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
pub async fn eml_response(raw: Arc<Vec<u8>>) -> Result<Response, AppError> {
    let subject = {
        let raw = Arc::clone(&raw);
        blocking(move || {
            mime::ParsedMessage::parse(&raw)
                .map(|m| m.subject())
                .unwrap_or_default()
        })
        .await?
    };
    // The cached bytes themselves, not a copy.
    let mut res = Body::from(Bytes::from_owner(SharedBytes(raw))).into_response();
    download_headers(
        &mut res,
        "message/rfc822",
        &filename_from(&subject, "message", "eml"),
    );
    Ok(res)
}

/// A cached message as a response body without copying it.
struct SharedBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Bytes the zip writer collects before handing a chunk to the response body.
const ZIP_CHUNK: usize = 64 * 1024;
/// Chunks in flight between the zip writer and the response; the writer waits when the
/// client reads slowly, so memory stays around this many chunks.
const ZIP_CHANNEL: usize = 4;

/// `GET /mail/{mailbox}/{uid}/attachments.zip`: every attachment of the message, byte
/// for byte, in one zip (deflated). Two attachments with the same name are kept apart
/// as `name (2).ext`.
///
/// The message is parsed once, and the zip is written on the blocking pool straight into
/// the response as it is read ([`ZipWriter::new_stream`]: sizes go in data descriptors),
/// so neither the CPU work nor the whole archive ever sits on the async workers.
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
    // The list is decided before the response starts: no attachments is a 404, not an
    // empty archive.
    let (parsed, view) = blocking(move || {
        mime::ParsedMessage::parse(&raw).map(|m| {
            let view = m.view();
            (m, view)
        })
    })
    .await?
    .map_err(|e| AppError::Internal(anyhow::Error::new(e)))?;
    if view.attachments.is_empty() {
        return Err(AppError::NotFound);
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(ZIP_CHANNEL);
    let sink = ChunkSender {
        tx: tx.clone(),
        buf: Vec::with_capacity(ZIP_CHUNK),
    };
    tokio::task::spawn_blocking(move || {
        if let Err(e) = write_zip(&parsed, &view.attachments, sink) {
            // The client went away, or writing failed: end the body with an error so
            // the download is reported as failed, never as a short but "complete" file.
            tracing::debug!(error = %e, "attachments.zip ended early");
            let _ = tx.blocking_send(Err(e));
        }
    });
    let body = Body::from_stream(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    let mut res = body.into_response();
    download_headers(
        &mut res,
        "application/zip",
        &filename_from(&view.subject, "attachments", "zip"),
    );
    // Deflated already: the compression layer leaves it alone.
    res.extensions_mut().insert(Precompressed);
    Ok(res)
}

/// Writes every attachment of `parsed` into a streaming zip on `sink`.
fn write_zip(
    parsed: &mime::ParsedMessage,
    attachments: &[mime::AttachmentInfo],
    sink: ChunkSender,
) -> std::io::Result<()> {
    let mut names = std::collections::HashSet::new();
    let mut zip = ZipWriter::new_stream(sink);
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for a in attachments {
        let Some(part) = parsed.part(&a.part) else {
            continue;
        };
        let name = unique_name(&mut names, &a.filename);
        zip.start_file(name, options)
            .map_err(std::io::Error::other)?;
        zip.write_all(&part.bytes)?;
    }
    zip.finish()
        .map_err(std::io::Error::other)?
        .into_inner()
        .flush()
}

/// The zip writer's output: collected into [`ZIP_CHUNK`]-sized chunks and sent to the
/// response body, waiting while the channel is full (the client sets the pace).
struct ChunkSender {
    tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= ZIP_CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(ZIP_CHUNK),
        ));
        // Fails only when the response body was dropped: the client left.
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
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
    let stream = stream
        .map(|chunk| {
            chunk.map_err(|e| {
                // The download is cut short; the browser reports it as failed.
                tracing::warn!(error = %e, "mbox export failed part-way");
                e
            })
        })
        // Fused: the compression layer (tower-http 0.7) polls the body once more after
        // it ended, looking for trailers, and `stream::unfold` panics when polled after
        // its end, which cut every gzip download short.
        .fuse();
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
