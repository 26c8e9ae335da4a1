//! The address book through HTTP: the contacts page (add, edit, delete, input kept on
//! errors), `/contacts/suggest` (JSON, prefix and case, no leaks between users, logged
//! out), vCard import and export. Server state is checked in the app's own database
//! through the same store functions the compose page uses.

use mailroom::store::{self, Db, contacts};
use reqwest::{StatusCode, header, multipart};

use crate::common::{
    app::{Page, TestApp},
    mailstack::{MailStack, TestUser},
};

/// A logged-in app whose database the test can open too.
pub struct Fixture {
    pub app: TestApp,
    pub db: Db,
    _dir: tempfile::TempDir,
}

/// An app for a fresh user, logged in, with its database at a path the test knows.
pub async fn fixture(prefix: &str) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = crate::common::pgstack::fresh_database_url(dir.path(), "state").await;
    let stack = MailStack::shared();
    let user = stack.add_user(prefix);
    let app_url = url.clone();
    let app = TestApp::spawn_with(stack, user, move |c| c.database_url = app_url).await;
    let db = store::connect(&url).await.expect("open the app's database");
    app.login().await;
    Fixture { app, db, _dir: dir }
}

/// A second browser on the same app, logged in as `user`.
pub async fn second_browser(app: &TestApp, user: &TestUser) -> reqwest::Client {
    let client = crate::common::app::browser_client(true);
    let login = client.get(app.url("/login")).send().await.expect("GET");
    let html = login.text().await.expect("body");
    let token = Page::html(html)
        .attrs("input[name=csrf_token]", "value")
        .remove(0);
    let res = client
        .post(app.url("/login"))
        .header(header::ORIGIN, &app.base)
        .form(&[
            ("username", user.address.as_str()),
            ("password", user.password.as_str()),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "second login failed");
    client
}

async fn suggest(
    client: &reqwest::Client,
    app: &TestApp,
    q: &str,
) -> (StatusCode, String, serde_json::Value) {
    let res = client
        .get(app.url("/contacts/suggest"))
        .query(&[("q", q)])
        .send()
        .await
        .expect("GET suggest");
    let status = res.status();
    let ctype = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let json = res.json().await.unwrap_or(serde_json::Value::Null);
    (status, ctype, json)
}

fn emails(json: &serde_json::Value) -> Vec<String> {
    json.as_array()
        .map(|a| {
            a.iter()
                .map(|c| c["email"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn add(app: &TestApp, name: &str, email: &str) -> Page {
    app.post_form("/contacts", &[("name", name), ("email", email)])
        .await
}

/// (name, email) of every stored contact, sorted.
async fn stored(db: &Db, user: &str) -> Vec<(String, String)> {
    let mut all: Vec<_> = contacts::list(db, user)
        .await
        .expect("list")
        .into_iter()
        .map(|c| (c.name, c.email))
        .collect();
    all.sort();
    all
}

async fn upload(app: &TestApp, bytes: Vec<u8>, with_csrf: bool) -> Page {
    let mut form = multipart::Form::new();
    if with_csrf {
        form = form.text("csrf_token", app.csrf().await);
    }
    let part = multipart::Part::bytes(bytes)
        .file_name("contacts.vcf")
        .mime_str("text/vcard")
        .expect("mime");
    app.post_multipart("/contacts/import", form.part("file", part))
        .await
}

#[tokio::test]
async fn contacts_add_edit_delete_with_input_kept_on_errors() {
    let f = fixture("contacts-crud").await;
    let (app, user) = (&f.app, f.app.user.address.clone());

    let empty = app.get("/contacts").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(
        empty.texts(".contacts .empty"),
        vec!["No contacts yet. People you write to are added automatically."]
    );
    assert_eq!(
        empty.attrs(".topbar a.contacts-link", "href"),
        vec!["/contacts"]
    );

    // Malformed addresses: the form comes back with what was typed and a message beside
    // the field; nothing is stored.
    for (email, message) in [
        ("bob@", "“bob@” has no domain after the @."),
        (
            "a b@c",
            "“a b@c” contains a space; separate addresses with commas.",
        ),
        ("bob", "“bob” is not an email address (it has no @)."),
        (
            "x@example.test\r\nBcc: eve@evil.test",
            "“x@example.test\u{FFFD}\u{FFFD}Bcc: eve@evil.test” contains a line break or another control character.",
        ),
    ] {
        let page = add(app, "Bob Builder", email).await;
        assert_eq!(page.status, StatusCode::OK, "{email:?}");
        let shown = page.texts(".add-contact #add-email-error");
        assert_eq!(shown.len(), 1, "{email:?}: {shown:?}");
        assert_eq!(shown[0], message, "{email:?}");
        // (HTML parsing turns the CR LF inside the attribute into LF.)
        assert_eq!(
            page.attrs(".add-contact input[name=email]", "value"),
            vec![email.replace("\r\n", "\n")]
        );
        assert_eq!(
            page.attrs(".add-contact input[name=name]", "value"),
            vec!["Bob Builder"]
        );
        assert_eq!(
            page.attrs(".add-contact input[name=email]", "aria-invalid"),
            vec!["true"]
        );
    }
    let bad_name = add(app, "Bob\r\nBcc: x", "bob@example.test").await;
    assert_eq!(bad_name.texts("#add-name-error").len(), 1);
    assert_eq!(
        bad_name.attrs(".add-contact input[name=email]", "value"),
        vec!["bob@example.test"]
    );
    assert!(stored(&f.db, &user).await.is_empty());

    // Good input: 303, then the list shows it; the address is stored normalized.
    let ok = add(app, "  Bob Builder ", "Bob@Example.TEST").await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.location(), "/contacts?saved=1");
    // `Name <address>` in the address field fills an empty name.
    let ok = add(app, "", "\"Carol, C.\" <carol@example.test>").await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(
        stored(&f.db, &user).await,
        [
            ("Bob Builder".to_owned(), "bob@example.test".to_owned()),
            ("Carol, C.".to_owned(), "carol@example.test".to_owned()),
        ]
    );
    let list = app.get("/contacts?saved=1").await;
    assert_eq!(list.texts(".notice"), vec!["Contact saved."]);
    assert_eq!(
        list.texts(".contact td.name"),
        vec!["Bob Builder", "Carol, C."]
    );
    assert_eq!(
        list.texts(".contact td.email"),
        vec!["bob@example.test", "carol@example.test"]
    );
    assert_eq!(list.texts(".list-head .total"), vec!["2 contacts"]);

    // Edit Bob: the row becomes a form; a duplicate address is refused with the input kept.
    let bob = contacts::find_by_email(&f.db, &user, "bob@example.test")
        .await
        .unwrap()
        .expect("bob stored");
    let edit = app.get(&format!("/contacts?edit={}", bob.id)).await;
    assert_eq!(
        edit.attrs("tr.editing input[name=name]", "value"),
        vec!["Bob Builder"]
    );
    let action = format!("/contacts/{}", bob.id);
    let dup = app
        .post_form(
            &action,
            &[("name", "Robert"), ("email", "CAROL@example.test")],
        )
        .await;
    assert_eq!(dup.status, StatusCode::OK);
    assert_eq!(
        dup.texts("tr.editing #edit-email-error"),
        vec!["Another contact already has this address."]
    );
    assert_eq!(
        dup.attrs("tr.editing input[name=name]", "value"),
        vec!["Robert"]
    );
    assert_eq!(
        dup.attrs("tr.editing input[name=email]", "value"),
        vec!["CAROL@example.test"]
    );
    let bad = app
        .post_form(&action, &[("name", "Robert"), ("email", "robert@")])
        .await;
    assert_eq!(
        bad.texts("tr.editing #edit-email-error"),
        vec!["“robert@” has no domain after the @."]
    );
    let saved = app
        .post_form(
            &action,
            &[("name", "Robert"), ("email", "robert@example.test")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(
        stored(&f.db, &user).await,
        [
            ("Carol, C.".to_owned(), "carol@example.test".to_owned()),
            ("Robert".to_owned(), "robert@example.test".to_owned()),
        ]
    );
    let missing = app
        .post_form(
            "/contacts/nosuchid",
            &[("name", "X"), ("email", "x@example.test")],
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // Delete: needs the CSRF token, then the contact is gone from the page and the store.
    let del = format!("/contacts/{}/delete", bob.id);
    let forged = app.post_form(&del, &[("csrf_token", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(stored(&f.db, &user).await.len(), 2);
    let gone = app.post_form(&del, &[]).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    let list = app.follow(gone.location()).await;
    assert_eq!(list.texts(".notice"), vec!["Contact deleted."]);
    assert_eq!(list.texts(".contact td.email"), vec!["carol@example.test"]);
    assert_eq!(
        stored(&f.db, &user).await,
        [("Carol, C.".to_owned(), "carol@example.test".to_owned())]
    );
}

#[tokio::test]
async fn suggest_is_json_prefix_first_case_insensitive_and_private() {
    let f = fixture("contacts-suggest").await;
    let app = &f.app;
    for (name, email) in [
        ("Zed Zhang", "zed@al.example"),
        ("Albert Ng", "albert@example.test"),
        ("", "ALICE@example.test"),
        ("Bob", "bob@example.test"),
        ("王小明", "xiaoming@example.cn"),
    ] {
        assert_eq!(add(app, name, email).await.status, StatusCode::SEE_OTHER);
    }

    let (status, ctype, json) = suggest(&app.client, app, "AL").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("application/json"), "{ctype}");
    // Where "al" starts the name or address first, then where it appears inside.
    assert_eq!(
        emails(&json),
        [
            "albert@example.test",
            "alice@example.test",
            "zed@al.example"
        ]
    );
    assert_eq!(json[0]["name"], "Albert Ng");
    assert_eq!(json[1]["name"], "");
    let (_, _, json) = suggest(&app.client, app, "小明").await;
    assert_eq!(emails(&json), ["xiaoming@example.cn"]);
    let (_, _, json) = suggest(&app.client, app, "zhang").await;
    assert_eq!(
        emails(&json),
        ["zed@al.example"],
        "a later word of the name"
    );
    for q in ["", "   ", "%", "_", "nobody"] {
        let (status, _, json) = suggest(&app.client, app, q).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json, serde_json::json!([]), "{q:?}");
    }

    // At most ten.
    let many: String = (0..15)
        .map(|i| {
            format!("BEGIN:VCARD\r\nFN:Many {i}\r\nEMAIL:many{i}@example.test\r\nEND:VCARD\r\n")
        })
        .collect();
    assert_eq!(
        upload(app, many.into_bytes(), true).await.status,
        StatusCode::SEE_OTHER
    );
    let (_, _, json) = suggest(&app.client, app, "many").await;
    assert_eq!(emails(&json).len(), 10);

    // Another user of the same Mailroom sees none of it.
    let stack = MailStack::shared();
    let other = stack.add_user("contacts-suggest-other");
    let browser = second_browser(app, &other).await;
    let (status, _, json) = suggest(&browser, app, "al").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json, serde_json::json!([]));
    let page = browser
        .get(app.url("/contacts"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("albert@example.test"));
    assert!(
        contacts::list(&f.db, &other.address)
            .await
            .unwrap()
            .is_empty()
    );

    // Logged out: 401 and nothing else, no redirect to follow.
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (status, _, json) = suggest(&anonymous, app, "al").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json, serde_json::json!([]));
    let res = anonymous.get(app.url("/contacts")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        "/login?next=%2Fcontacts"
    );
}

/// Three cards as phones and desktop programs write them: vCard 3.0 with a folded line
/// and an escaped comma, 4.0 with a Chinese name and two addresses, 2.1 with
/// quoted-printable UTF-8 and a soft line break; plus one card without an address.
const THREE_CARDS: &str = "BEGIN:VCARD\r\n\
VERSION:3.0\r\n\
N:Lovelace;Ada;;;\r\n\
FN:Ada Lovelace\\, Countess\r\n\
EMAIL;TYPE=INTERNET:ada.lovelace@analytical-engine.exam\r\n\
\x20ple\r\n\
END:VCARD\r\n\
BEGIN:VCARD\n\
VERSION:4.0\n\
FN:张伟\n\
N:张;伟;;;\n\
EMAIL;TYPE=work:zhang.wei@example.cn\n\
EMAIL;TYPE=home:Wei.Zhang@Example.ORG\n\
END:VCARD\n\
BEGIN:VCARD\r\n\
VERSION:2.1\r\n\
FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Jos=C3=A9 =\r\n\
Garc=C3=ADa\r\n\
EMAIL;INTERNET:jose@example.es\r\n\
END:VCARD\r\n\
BEGIN:VCARD\r\n\
VERSION:3.0\r\n\
FN:Phone Only\r\n\
TEL:+1 555 0100\r\n\
END:VCARD\r\n";

#[tokio::test]
async fn vcard_import_reports_counts_and_export_round_trips() {
    let f = fixture("contacts-vcard").await;
    let (app, user) = (&f.app, f.app.user.address.clone());

    let res = upload(app, THREE_CARDS.as_bytes().to_vec(), true).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), "/contacts?imported=4&skipped=1");
    let page = app.follow(res.location()).await;
    assert_eq!(
        page.texts(".notice"),
        vec!["Imported 4 contacts; skipped 1."]
    );
    let expected = vec![
        (
            "Ada Lovelace, Countess".to_owned(),
            "ada.lovelace@analytical-engine.example".to_owned(),
        ),
        ("José García".to_owned(), "jose@example.es".to_owned()),
        ("张伟".to_owned(), "wei.zhang@example.org".to_owned()),
        ("张伟".to_owned(), "zhang.wei@example.cn".to_owned()),
    ];
    assert_eq!(stored(&f.db, &user).await, expected);
    assert!(page.texts(".contact td.name").contains(&"张伟".to_owned()));

    // Importing the same file again changes nothing but the report.
    let again = upload(app, THREE_CARDS.as_bytes().to_vec(), true).await;
    assert_eq!(again.location(), "/contacts?imported=4&skipped=1");
    assert_eq!(stored(&f.db, &user).await, expected);

    // Export: a vCard 4.0 download…
    let (status, headers, body) = app.get_bytes("/contacts/export.vcf").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/vcard")
    );
    assert_eq!(
        headers["content-disposition"].to_str().unwrap(),
        "attachment; filename=\"contacts.vcf\""
    );
    let text = String::from_utf8(body.clone()).expect("UTF-8");
    assert_eq!(text.matches("BEGIN:VCARD\r\nVERSION:4.0\r\n").count(), 4);
    assert!(text.contains("FN:Ada Lovelace\\, Countess\r\n"), "{text}");
    assert!(text.contains("FN:张伟\r\n"));
    // …that another user imports to the same address book.
    let other = MailStack::shared().add_user("contacts-vcard-other");
    let browser = second_browser(app, &other).await;
    let page = browser
        .get(app.url("/contacts"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = Page::html(page)
        .attrs("input[name=csrf_token]", "value")
        .remove(0);
    let form = multipart::Form::new().text("csrf_token", token).part(
        "file",
        multipart::Part::bytes(body).file_name("contacts.vcf"),
    );
    let res = browser
        .post(app.url("/contacts/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        "/contacts?imported=4&skipped=0"
    );
    assert_eq!(stored(&f.db, &other.address).await, expected);
}

#[tokio::test]
async fn vcard_import_refuses_bad_uploads_with_a_message() {
    let f = fixture("contacts-vcard-bad").await;
    let app = &f.app;
    for (bytes, message) in [
        (Vec::new(), "Choose a vCard file to import."),
        (
            b"name,email\nBob,bob@example.test\n".to_vec(),
            "This is not a vCard (.vcf) file.",
        ),
        (
            vec![b'x'; 1024 * 1024 + 1],
            "The file is too large (at most 1 MB).",
        ),
        (
            vec![b'x'; 3 * 1024 * 1024],
            "The file is too large (at most 1 MB).",
        ),
    ] {
        let page = upload(app, bytes, true).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.texts("#import-error"), vec![message]);
    }
    let forged = upload(app, THREE_CARDS.as_bytes().to_vec(), false).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(
        contacts::list(&f.db, &app.user.address)
            .await
            .unwrap()
            .is_empty()
    );
}
