//! Every form works with only the fields the user must choose (issue 9, item 2): the
//! optional ones take their defaults; a missing required one is a message beside its
//! field with the rest of the input kept, never a parse error; a missing CSRF token is
//! the friendly CSRF page. (The compose form has its own test in `compose`.)

use reqwest::StatusCode;

use crate::common::{
    app::{Page, TestApp},
    mailstack::MailStack,
};

/// A logged-in app for a fresh user.
async fn logged_in(prefix: &str) -> TestApp {
    let app = TestApp::spawn(prefix).await;
    app.login().await;
    app
}

/// A 303 to a page starting with `to`.
fn redirected(page: &Page, to: &str) {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(page.location().starts_with(to), "{}", page.location());
}

#[tokio::test]
async fn identities_need_only_an_address() {
    let app = logged_in("forms-id").await;
    let page = app
        .post_form("/settings/identities", &[("email", &app.user.address)])
        .await;
    redirected(&page, "/settings?saved=identity");
    let page = app.get("/settings").await;
    assert!(page.body.contains(&app.user.address));
    // Missing the address: said beside the field, the name kept.
    let page = app
        .post_form("/settings/identities", &[("display_name", "Kept Name")])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.texts("#add-email-error").len(), 1, "{}", page.body);
    assert_eq!(page.attrs("#add-name", "value"), vec!["Kept Name"]);
}

#[tokio::test]
async fn the_language_needs_only_the_language() {
    let app = logged_in("forms-lang").await;
    let page = app.post_form("/settings/language", &[("lang", "en")]).await;
    redirected(&page, "/settings?saved=language");
}

#[tokio::test]
async fn contacts_need_only_an_address() {
    let app = logged_in("forms-contact").await;
    let page = app
        .post_form("/contacts", &[("email", "friend@example.test")])
        .await;
    redirected(&page, "/contacts");
    assert!(
        app.get("/contacts")
            .await
            .body
            .contains("friend@example.test")
    );
    let page = app.post_form("/contacts", &[("name", "Only A Name")]).await;
    assert!(!page.status.is_redirection(), "{}", page.location());
    assert_eq!(page.texts("#add-email-error").len(), 1, "{}", page.body);
    assert_eq!(page.attrs("#add-name", "value"), vec!["Only A Name"]);
}

#[tokio::test]
async fn folders_need_only_a_name_and_a_missing_token_is_the_csrf_page() {
    let app = logged_in("forms-folder").await;
    let page = app.post_form("/folders", &[("name", "Projects")]).await;
    redirected(&page, "/folders?notice=created");
    let page = app
        .post_form("/folders/Projects/subscribe", &[("subscribed", "false")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    // No name: beside the field.
    let page = app.post_form("/folders", &[("parent", "Projects")]).await;
    assert_eq!(page.texts("#folder-name-error").len(), 1, "{}", page.body);
    // No token at all: the CSRF page, not "Failed to deserialize form body".
    let res = app
        .client
        .post(app.url("/folders"))
        .header("origin", &app.base)
        .form(&[("name", "NoToken")])
        .send()
        .await
        .expect("POST");
    let page = Page::read(res).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(page.body.contains("This form has expired"), "{}", page.body);
}

#[tokio::test]
async fn message_actions_need_only_the_action_and_the_messages() {
    let stack = MailStack::shared();
    let app = logged_in("forms-action").await;
    stack
        .append(
            &app.user,
            "INBOX",
            b"From: a@example.test\r\nSubject: act\r\n\r\nbody\r\n",
            &[],
        )
        .await;
    let page = app
        .post_form("/mail/INBOX/actions", &[("action", "flag"), ("uid", "1")])
        .await;
    redirected(&page, "/mail/INBOX?notice=done.flag");
    let page = app.post_form("/mail/Trash/empty", &[]).await;
    redirected(&page, "/mail/Trash?notice=emptied");
}

#[tokio::test]
async fn trusted_senders_need_only_the_address() {
    let app = logged_in("forms-trust").await;
    let page = app
        .post_form("/settings/remote", &[("value", "news@shop.example")])
        .await;
    redirected(&page, "/settings/remote?saved=added");
    let page = app.get("/settings/remote").await;
    assert!(page.body.contains("news@shop.example"), "{}", page.body);
    // Nothing to trust: beside the field.
    let page = app
        .post_form("/settings/remote", &[("kind", "domain")])
        .await;
    assert_eq!(page.texts("#trusted-value-error").len(), 1, "{}", page.body);
}

#[tokio::test]
async fn sharing_needs_a_teammate_and_a_level() {
    let app = logged_in("forms-share").await;
    let page = app
        .post_form("/folders/INBOX/share", &[("user", "someone")])
        .await;
    assert!(!page.status.is_redirection(), "{}", page.location());
    assert!(
        page.body.contains("Choose an access level."),
        "{}",
        page.body
    );
    assert_eq!(page.attrs("#share-user", "value"), vec!["someone"]);
}

#[tokio::test]
async fn search_needs_only_the_text() {
    let stack = MailStack::shared();
    let app = logged_in("forms-search").await;
    stack
        .append(
            &app.user,
            "INBOX",
            b"From: a@example.test\r\nSubject: needle here\r\n\r\nbody\r\n",
            &[],
        )
        .await;
    let page = app.get("/mail/INBOX?q=needle").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("needle here"), "{}", page.body);
}
