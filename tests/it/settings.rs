//! The settings page through HTTP: identities (display name, signature, more From
//! addresses, the default), bad input shown again beside its field, the language cookie,
//! and the links to the other settings pages. Server state is read with
//! `store::identities::list`, which the compose page uses for From and the signature.

use mailroom::store::identities;
use reqwest::StatusCode;

use crate::contacts::fixture;

/// (email, display name, signature, default) of what the compose page will see.
async fn seen_by_compose(
    db: &mailroom::store::Db,
    user: &str,
) -> Vec<(String, String, String, bool)> {
    identities::list(db, user, user)
        .await
        .expect("list identities")
        .into_iter()
        .map(|i| (i.email, i.display_name, i.signature, i.is_default))
        .collect()
}

fn row(email: &str, name: &str, sig: &str, default: bool) -> (String, String, String, bool) {
    (email.to_owned(), name.to_owned(), sig.to_owned(), default)
}

#[tokio::test]
async fn settings_save_name_signature_and_more_from_addresses() {
    let f = fixture("settings-ids").await;
    let (app, user) = (&f.app, f.app.user.address.clone());

    let page = app.get("/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.texts("main h1"), vec!["Settings"]);
    assert_eq!(
        page.attrs(".topbar a.settings-link", "href"),
        vec!["/settings"]
    );
    // Before anything is saved: one identity, the login name, the default.
    assert_eq!(page.texts("form.identity.login .identity-email").len(), 1);
    assert!(page.texts("form.identity.login .identity-email")[0].starts_with(&user));
    assert_eq!(
        page.attrs("form.identity.login.default", "action"),
        vec!["/settings/identities"]
    );
    assert_eq!(
        page.attrs("#more a", "href"),
        vec![
            "/settings/accounts",
            "/labels",
            "/settings/remote",
            "/settings/2fa",
            "/folders",
            "/settings/rules",
            "/settings/vacation",
            "/settings/forwarding"
        ]
    );
    assert_eq!(
        page.attrs("#language select[name=lang] option[selected]", "value"),
        vec!["en"]
    );
    assert_eq!(
        seen_by_compose(&f.db, &user).await,
        [row(&user, "", "", true)]
    );

    // Save a display name and a signature for the login identity.
    let signature = "-- \r\nAlice Example\r\n\tExample Ltd · 示例公司";
    let saved = app
        .post_form(
            "/settings/identities",
            &[
                ("email", user.as_str()),
                ("display_name", "Alice Example"),
                ("signature", signature),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(saved.location(), "/settings?saved=identity");
    let page = app.follow(saved.location()).await;
    assert_eq!(page.texts(".notice"), vec!["Settings saved."]);
    assert_eq!(
        page.attrs("form.identity.login input[name=display_name]", "value"),
        vec!["Alice Example"]
    );
    assert_eq!(
        page.texts("form.identity.login textarea[name=signature]"),
        vec!["-- \nAlice Example\n\tExample Ltd · 示例公司"]
    );
    let stored_sig = "-- \nAlice Example\n\tExample Ltd · 示例公司";
    assert_eq!(
        seen_by_compose(&f.db, &user).await,
        [row(&user, "Alice Example", stored_sig, true)]
    );
    let login_action = page.attrs("form.identity.login", "action").remove(0);
    assert!(
        login_action.starts_with("/settings/identities/"),
        "{login_action}"
    );

    // Another From address: stored, shown with the warning that the server decides.
    let added = app
        .post_form(
            "/settings/identities",
            &[
                ("email", "Team@Example.test"),
                ("display_name", "Alice (Team)"),
                ("signature", "The team"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let page = app.follow(added.location()).await;
    let forms = page.attrs("form.identity:not(.add-identity)", "action");
    assert_eq!(forms.len(), 2, "{forms:?}");
    assert_eq!(
        page.attrs(
            "form.identity:not(.login):not(.add-identity) input[name=email]",
            "value"
        ),
        vec!["Team@example.test"]
    );
    let warning = page.texts("form.identity:not(.login):not(.add-identity) .warning");
    assert_eq!(warning.len(), 1);
    assert!(
        warning[0].contains("Team@example.test") && warning[0].contains("refuse"),
        "{warning:?}"
    );
    assert!(page.texts("form.identity.login .warning").is_empty());
    assert_eq!(
        seen_by_compose(&f.db, &user).await,
        [
            row(&user, "Alice Example", stored_sig, true),
            row("Team@example.test", "Alice (Team)", "The team", false),
        ]
    );

    // Make the team address the default; then remove it: the login identity is default again.
    let team_action = page
        .attrs("form.identity:not(.login):not(.add-identity)", "action")
        .remove(0);
    let res = app
        .post_form(
            &team_action,
            &[
                ("email", "team@example.test"),
                ("display_name", "Alice (Team)"),
                ("signature", "The team"),
                ("default", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        seen_by_compose(&f.db, &user).await,
        [
            row("team@example.test", "Alice (Team)", "The team", true),
            row(&user, "Alice Example", stored_sig, false),
        ]
    );
    let page = app.get("/settings").await;
    assert_eq!(
        page.attrs("form.identity.default input[name=email]", "value"),
        vec!["team@example.test"]
    );
    // The login identity's address cannot be changed through its form.
    let res = app
        .post_form(
            &login_action,
            &[
                ("email", "mallory@example.test"),
                ("display_name", "Alice E."),
                ("signature", ""),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = app.post_form(&format!("{team_action}/delete"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/settings?saved=removed");
    assert_eq!(
        seen_by_compose(&f.db, &user).await,
        [row(&user, "Alice E.", "", true)]
    );
    let page = app.follow(res.location()).await;
    assert_eq!(page.texts(".notice"), vec!["Address removed."]);
}

#[tokio::test]
async fn bad_identity_input_comes_back_beside_its_field() {
    let f = fixture("settings-bad").await;
    let (app, user) = (&f.app, f.app.user.address.clone());

    for (email, message) in [
        ("bob@", "“bob@” has no domain after the @."),
        (
            "a b@c",
            "“a b@c” contains a space; separate addresses with commas.",
        ),
        (
            "Bob <bob@example.test>",
            "“Bob <bob@example.test>” contains a space; separate addresses with commas.",
        ),
        ("", "Enter an email address."),
    ] {
        let page = app
            .post_form(
                "/settings/identities",
                &[
                    ("email", email),
                    ("display_name", "Team 团队"),
                    ("signature", "Line one\nLine two"),
                    ("default", "1"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{email:?}");
        assert_eq!(page.texts(".add-identity #add-email-error"), vec![message]);
        assert_eq!(
            page.attrs(".add-identity input[name=email]", "value"),
            vec![email]
        );
        assert_eq!(
            page.attrs(".add-identity input[name=display_name]", "value"),
            vec!["Team 团队"]
        );
        assert_eq!(
            page.texts(".add-identity textarea[name=signature]"),
            vec!["Line one\nLine two"]
        );
        assert_eq!(
            page.attrs(".add-identity input[name=default][checked]", "value")
                .len(),
            1
        );
    }

    // A bad name or signature on the login identity shows in that identity's form.
    let page = app
        .post_form(
            "/settings/identities",
            &[
                ("email", user.as_str()),
                ("display_name", "Alice\r\nBcc: eve@evil.test"),
                ("signature", "ok\u{7}"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.texts("form.identity.login #identity-1-name-error"),
        vec!["A name is at most 200 characters, without line breaks or control characters."]
    );
    assert_eq!(
        page.texts("form.identity.login #identity-1-signature-error"),
        vec!["The signature is at most 4,000 characters, without control characters."]
    );
    assert_eq!(
        page.attrs("form.identity.login input[name=display_name]", "value"),
        vec!["Alice\nBcc: eve@evil.test"]
    );
    let long = "s".repeat(4001);
    let page = app
        .post_form(
            "/settings/identities",
            &[
                ("email", user.as_str()),
                ("display_name", "Alice"),
                ("signature", &long),
            ],
        )
        .await;
    assert_eq!(page.texts("#identity-1-signature-error").len(), 1);
    assert_eq!(
        page.texts("form.identity.login textarea[name=signature]"),
        vec![long.clone()]
    );

    // Nothing was stored by any of that; a duplicate address is refused too.
    assert_eq!(
        identities::list(&f.db, &user, &user).await.unwrap()[0].id,
        ""
    );
    let ok = app
        .post_form(
            "/settings/identities",
            &[
                ("email", "team@example.test"),
                ("display_name", ""),
                ("signature", ""),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let dup = app
        .post_form(
            "/settings/identities",
            &[
                ("email", "TEAM@example.test"),
                ("display_name", "Again"),
                ("signature", ""),
            ],
        )
        .await;
    assert_eq!(
        dup.texts(".add-identity #add-email-error"),
        vec!["You already have an identity with this address."]
    );
    assert_eq!(
        dup.attrs(".add-identity input[name=display_name]", "value"),
        vec!["Again"]
    );
    let all = identities::list(&f.db, &user, &user).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|i| (i.email.as_str(), i.is_default))
            .collect::<Vec<_>>(),
        [(user.as_str(), true), ("team@example.test", false)],
        "adding an address first stores the login identity as the default"
    );

    // Forged or tokenless posts change nothing.
    let forged = app
        .post_form(
            "/settings/identities",
            &[("email", "x@example.test"), ("csrf_token", "forged")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        identities::list(&f.db, &user, &user).await.unwrap().len(),
        2
    );
}

#[tokio::test]
async fn language_setting_sets_the_login_pages_cookie() {
    let f = fixture("settings-lang").await;
    let app = &f.app;

    let res = app
        .post_form("/settings/language", &[("lang", "zh-Hans")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/settings?saved=language");
    let cookies: Vec<&str> = res
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let cookie = cookies
        .iter()
        .find(|c| c.starts_with("mailroom_lang="))
        .unwrap_or_else(|| panic!("no language cookie in {cookies:?}"));
    assert!(cookie.starts_with("mailroom_lang=zh-Hans;"), "{cookie}");
    assert!(
        cookie.contains("Max-Age=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    let page = app.follow(res.location()).await;
    assert_eq!(page.attrs("html", "lang"), vec!["zh-Hans"]);
    assert_eq!(page.texts("main h1"), vec!["设置"]);
    assert_eq!(page.texts(".notice"), vec!["设置已保存。"]);
    assert_eq!(page.texts(".topbar a.contacts-link"), vec!["通讯录"]);
    assert_eq!(
        page.attrs("#language option[selected]", "value"),
        vec!["zh-Hans"]
    );
    // The login page reads the same cookie.
    assert_eq!(
        app.get("/login").await.attrs("html", "lang"),
        vec!["zh-Hans"]
    );

    let bad = app.post_form("/settings/language", &[("lang", "xx")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let forged = app
        .post_form(
            "/settings/language",
            &[("lang", "en"), ("csrf_token", "nope")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let back = app.post_form("/settings/language", &[("lang", "en")]).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/settings").await.texts("main h1"),
        vec!["Settings"]
    );

    // Logged out, the page asks for a login and comes back.
    app.post_form("/logout", &[]).await;
    let out = app.get("/settings").await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/login?next=%2Fsettings");
}
