//! `TestApp`: a Mailroom instance on port 0 with its own data dir, pointed at the test mail
//! stack, plus a cookie-keeping HTTP client with typed helpers.

use mailroom::{
    app::App,
    config::{Config, Endpoint, Security},
};
use reqwest::{StatusCode, header};

use super::mailstack::{MailStack, TestUser};

/// A running app and a browser-like client for one test user.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub user: TestUser,
    _data: tempfile::TempDir,
    /// The app's database (SQLite or PostgreSQL: see `common::pgstack`).
    pub database_url: String,
    /// The running server (and its outbox worker), for [`TestApp::stop`].
    server: Option<std::sync::Arc<tokio::task::JoinHandle<()>>>,
}

/// A response read to the end.
pub struct Page {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: String,
}

impl Page {
    /// Reads a response to the end.
    pub async fn read(res: reqwest::Response) -> Page {
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.text().await.unwrap_or_default();
        Page {
            status,
            headers,
            body,
        }
    }

    /// A 200 page with this HTML (for HTML read some other way, to use the selectors).
    pub fn html(body: String) -> Page {
        Page {
            status: StatusCode::OK,
            headers: Default::default(),
            body,
        }
    }

    /// The `Location` header of a redirect.
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Text content of every element matching a CSS selector.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let doc = scraper::Html::parse_document(&self.body);
        let sel = scraper::Selector::parse(selector).expect("valid selector");
        doc.select(&sel)
            .map(|e| e.text().collect::<String>().trim().to_owned())
            .collect()
    }

    /// An attribute of every element matching a CSS selector.
    pub fn attrs(&self, selector: &str, attr: &str) -> Vec<String> {
        let doc = scraper::Html::parse_document(&self.body);
        let sel = scraper::Selector::parse(selector).expect("valid selector");
        doc.select(&sel)
            .filter_map(|e| e.value().attr(attr).map(str::to_owned))
            .collect()
    }
}

/// What Chromium sends with every navigation. Tests used to send less than a browser does,
/// which hid a download that ended early under gzip; every client here sends this by default.
pub const BROWSER_HEADERS: &[(&str, &str)] = &[
    ("accept-encoding", "gzip, deflate, br"),
    ("accept-language", "en-US,en;q=0.9"),
    (
        "accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    ),
    ("sec-fetch-site", "same-origin"),
    ("sec-fetch-mode", "navigate"),
    ("sec-fetch-dest", "document"),
    ("sec-fetch-user", "?1"),
    ("upgrade-insecure-requests", "1"),
    (
        "user-agent",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
    ),
];

/// A client that sends Chromium's headers, decodes gzip/deflate/br as Chromium does (a
/// truncated compressed body is an error, not a short page), and never follows redirects.
pub fn browser_client(cookies: bool) -> reqwest::Client {
    let mut headers = header::HeaderMap::new();
    for (k, v) in BROWSER_HEADERS {
        headers.insert(
            header::HeaderName::from_static(k),
            header::HeaderValue::from_static(v),
        );
    }
    reqwest::Client::builder()
        .cookie_store(cookies)
        .default_headers(headers)
        .gzip(true)
        .deflate(true)
        .brotli(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The app's configuration for a stack: implicit TLS to the IMAPS port, trusting the stack's CA.
pub fn config_for(stack: &MailStack, data_dir: &std::path::Path) -> Config {
    let mut c = Config::load_from(None, |_| None).expect("default config");
    // Sent at once, as the tests of sending expect; tests/it/outbox.rs turns the undo
    // window on where it is what they test.
    c.undo_send = 0;
    c.listen = "127.0.0.1:0".parse().expect("addr");
    c.data_dir = data_dir.to_owned();
    c.database_url = format!("sqlite://{}?mode=rwc", data_dir.join("test.db").display());
    c.imap = Endpoint {
        host: "127.0.0.1".into(),
        port: stack.imaps_port,
        security: Security::Tls,
        ca_file: Some(stack.ca_file.clone()),
    };
    c.smtp = Endpoint {
        host: "127.0.0.1".into(),
        port: stack.submission_port,
        security: Security::Starttls,
        ca_file: Some(stack.ca_file.clone()),
    };
    // ManageSieve with STARTTLS, as a site would run it (none on Cyrus).
    c.sieve = (stack.sieve_port != 0).then(|| Endpoint {
        host: "127.0.0.1".into(),
        port: stack.sieve_port,
        security: Security::Starttls,
        ca_file: Some(stack.ca_file.clone()),
    });
    c
}

impl TestApp {
    /// An app on the shared stack with a fresh user.
    pub async fn spawn(prefix: &str) -> TestApp {
        let stack = MailStack::shared();
        let user = stack.add_user(prefix);
        Self::spawn_with(stack, user, |_| {}).await
    }

    /// An app on `stack` for `user`, with a chance to adjust the configuration.
    pub async fn spawn_with(
        stack: &MailStack,
        user: TestUser,
        tweak: impl FnOnce(&mut Config),
    ) -> TestApp {
        let data = tempfile::tempdir().expect("temp dir");
        let mut config = config_for(stack, data.path());
        config.database_url = super::pgstack::fresh_database_url(data.path(), "test").await;
        tweak(&mut config);
        let database_url = config.database_url.clone();
        let app = App::build(config).await.expect("app builds");
        let address = app.address();
        let server = tokio::spawn(async move {
            let _ = app.run().await;
        });
        let client = browser_client(true);
        TestApp {
            base: format!("http://{address}"),
            client,
            user,
            _data: data,
            database_url,
            server: Some(std::sync::Arc::new(server)),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// GET without following redirects.
    pub async fn get(&self, path: &str) -> Page {
        self.get_with(path, &[]).await
    }

    /// GET with extra headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut req = self.client.get(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Page::read(req.send().await.expect("GET")).await
    }

    /// GET as Chromium loads an iframe (`Sec-Fetch-Dest: iframe`), e.g. the body document.
    pub async fn get_frame(&self, path: &str) -> Page {
        self.get_with(path, &[("sec-fetch-dest", "iframe")]).await
    }

    /// GET the raw bytes.
    pub async fn get_bytes(&self, path: &str) -> (StatusCode, header::HeaderMap, Vec<u8>) {
        let res = self.client.get(self.url(path)).send().await.expect("GET");
        let status = res.status();
        let headers = res.headers().clone();
        (status, headers, res.bytes().await.expect("body").to_vec())
    }

    /// The CSRF token the app gave this client (read from a form, as a browser would).
    pub async fn csrf(&self) -> String {
        let page = self.get("/login").await;
        page.attrs("input[name=csrf_token]", "value")
            .into_iter()
            .next()
            .expect("csrf field on the login page")
    }

    /// POST a form, adding the CSRF token unless the fields already carry one.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !fields.iter().any(|(k, _)| k == "csrf_token") {
            fields.push(("csrf_token".into(), self.csrf().await));
        }
        let res = self
            .client
            .post(self.url(path))
            .header(header::ORIGIN, &self.base)
            .form(&fields)
            .send()
            .await
            .expect("POST");
        Page::read(res).await
    }

    /// POST a multipart form (the caller adds the CSRF token, or leaves it out on purpose).
    pub async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form) -> Page {
        let res = self
            .client
            .post(self.url(path))
            .header(header::ORIGIN, &self.base)
            .multipart(form)
            .send()
            .await
            .expect("POST multipart");
        Page::read(res).await
    }

    /// Logs in with the test user's password; panics unless it redirects.
    pub async fn login(&self) -> Page {
        let (u, p) = (self.user.address.clone(), self.user.password.clone());
        let page = self
            .post_form("/login", &[("username", &u), ("password", &p)])
            .await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "login failed: {}",
            page.body
        );
        page
    }

    /// GETs `path` until `ready` holds for the page (at most 15 s), and returns that page.
    /// For changes made by another client, which Mailroom learns of when the server
    /// reports them to the user's watcher (`imap::fresh`), not before: Dovecot holds such
    /// reports back for half a second, and a full parallel test run on two cores can add
    /// seconds to that.
    pub async fn get_until(&self, path: &str, what: &str, ready: impl Fn(&Page) -> bool) -> Page {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let page = self.get(path).await;
            if ready(&page) {
                return page;
            }
            assert!(
                std::time::Instant::now() < end,
                "{what}: not shown within 15 s; last page:\n{}",
                page.body
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Follows redirects by hand from `path` and returns the final page.
    pub async fn follow(&self, path: &str) -> Page {
        let mut page = self.get(path).await;
        for _ in 0..5 {
            if !page.status.is_redirection() {
                break;
            }
            let loc = page.location().to_owned();
            page = self.get(&loc).await;
        }
        page
    }

    /// The app's data dir (its SQLite database, when it has one, is `test.db` there).
    pub fn data_dir(&self) -> &std::path::Path {
        self._data.path()
    }

    /// Rows of a table in the app's database (what a request left behind).
    pub async fn count_rows(&self, table: &str) -> i64 {
        super::pgstack::count_rows(&self.database_url, table).await
    }

    /// Another browser (its own cookies) on the same app, for `user`. Its `data_dir` is
    /// an empty stand-in: ask the first `TestApp` about the database.
    pub fn other_browser(&self, user: TestUser) -> TestApp {
        TestApp {
            base: self.base.clone(),
            client: browser_client(true),
            user,
            _data: tempfile::tempdir().expect("temp dir"),
            database_url: self.database_url.clone(),
            server: self.server.clone(),
        }
    }

    /// Stops the server and everything it runs (the outbox worker), as a process that
    /// ends would: what it kept in the database stays.
    pub fn stop(&self) {
        if let Some(s) = &self.server {
            s.abort();
        }
    }
}
