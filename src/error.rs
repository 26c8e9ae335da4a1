//! The one error type of the web layer. A handler returns `Result<_, AppError>`; the error
//! becomes a bare response carrying an [`ErrorPage`] marker, and the `error_pages`
//! middleware in [`crate::web::layout`] turns that marker into a translated page (it knows
//! the request's language and path, which `IntoResponse` does not). Internals are logged,
//! never shown.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

use crate::imap::ImapError;

/// Everything that can stop a request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No valid login: the middleware redirects to `/login?next=<this path>`.
    #[error("login required")]
    LoginRequired,
    /// The folder, message or part does not exist (or no longer does).
    #[error("not found")]
    NotFound,
    /// The IMAP (or SMTP) server could not be reached.
    #[error("mail server unreachable: {0}")]
    Unreachable(String),
    /// Every connection we may hold to the mail server is in use: try again shortly.
    #[error("mail server connections all in use")]
    Busy,
    /// The request itself is wrong; the value is a catalog key for the message shown.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// A POST without a valid CSRF token.
    #[error("forbidden (csrf)")]
    Csrf,
    /// A bug or an unexpected answer from a server: logged, shown as a generic page.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Marker left in a response's extensions for the error-page middleware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorPage {
    LoginRequired,
    NotFound,
    Unreachable,
    Busy,
    BadRequest(&'static str),
    Csrf,
    Internal,
}

impl ErrorPage {
    /// Catalog keys for the page's title and explanation.
    pub fn text_keys(self) -> (&'static str, &'static str) {
        match self {
            ErrorPage::LoginRequired => ("error.login.title", "error.login.text"),
            ErrorPage::NotFound => ("error.notfound.title", "error.notfound.text"),
            ErrorPage::Unreachable => ("error.unreachable.title", "error.unreachable.text"),
            ErrorPage::Busy => ("error.busy.title", "error.busy.text"),
            ErrorPage::BadRequest(k) => ("error.bad.title", k),
            ErrorPage::Csrf => ("error.csrf.title", "error.csrf.text"),
            ErrorPage::Internal => ("error.internal.title", "error.internal.text"),
        }
    }
}

impl AppError {
    /// The HTTP status this error answers with.
    pub fn status_code(&self) -> StatusCode {
        match self {
            AppError::LoginRequired => StatusCode::SEE_OTHER,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unreachable(_) => StatusCode::BAD_GATEWAY,
            AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn page(&self) -> ErrorPage {
        match self {
            AppError::LoginRequired => ErrorPage::LoginRequired,
            AppError::NotFound => ErrorPage::NotFound,
            AppError::Unreachable(_) => ErrorPage::Unreachable,
            AppError::Busy => ErrorPage::Busy,
            AppError::BadRequest(k) => ErrorPage::BadRequest(k),
            AppError::Csrf => ErrorPage::Csrf,
            AppError::Internal(_) => ErrorPage::Internal,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match &self {
            AppError::Internal(e) => tracing::error!(error = ?e, "internal error"),
            AppError::Unreachable(e) => tracing::warn!(error = %e, "mail server unreachable"),
            _ => tracing::debug!(error = %self, "request refused"),
        }
        let mut res = self.status_code().into_response();
        res.extensions_mut().insert(self.page());
        res
    }
}

impl From<ImapError> for AppError {
    fn from(e: ImapError) -> Self {
        match e {
            // The stored password stopped working (changed elsewhere): log in again.
            ImapError::AuthFailed => AppError::LoginRequired,
            ImapError::Unreachable(m) => AppError::Unreachable(m),
            ImapError::Busy => AppError::Busy,
            ImapError::NoSuchMailbox | ImapError::NoSuchMessage => AppError::NotFound,
            ImapError::InvalidName => AppError::BadRequest("error.bad.name"),
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(e: tower_sessions::session::Error) -> Self {
        AppError::Internal(anyhow::Error::new(e))
    }
}

impl From<crate::sieve::SieveError> for AppError {
    fn from(e: crate::sieve::SieveError) -> Self {
        use crate::sieve::SieveError;
        match e {
            // IMAP accepted the password, so a refusal here is the rules server's problem.
            SieveError::Unreachable(_) | SieveError::AuthFailed => {
                AppError::Unreachable(e.to_string())
            }
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Internal(anyhow::Error::new(e))
    }
}

impl From<crate::send::SendError> for AppError {
    fn from(e: crate::send::SendError) -> Self {
        use crate::send::SendError;
        match e {
            SendError::Store(e) => e.into(),
            SendError::Imap(e) => e.into(),
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}
