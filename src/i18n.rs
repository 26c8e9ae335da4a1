//! The translation catalog. Every user-facing string goes through [`Tr::t`]; templates call
//! `tr.t("key")`. A test checks that every key used in `templates/` and in the code exists
//! here in every language, so a missing translation fails the build's tests, not a user.

use std::{collections::HashMap, sync::LazyLock};

/// A language the UI is available in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    ZhHans,
}

impl Lang {
    /// Every supported language, in the order the language picker shows them.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::ZhHans];

    /// The BCP 47 tag used in `<html lang>` and in the language cookie.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhHans => "zh-Hans",
        }
    }

    /// The language's own name, for the picker.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::ZhHans => "简体中文",
        }
    }

    /// Parses a tag from a cookie or a form (`en`, `zh`, `zh-CN`, `zh-Hans`…).
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            // Traditional-script Chinese readers still read Simplified better than English.
            "zh" => Some(Lang::ZhHans),
            _ => None,
        }
    }

    /// Picks the best supported language from an `Accept-Language` header (RFC 9110 §12.5.4).
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut choices: Vec<(f32, usize, Lang)> = header
            .split(',')
            .enumerate()
            .filter_map(|(i, item)| {
                let mut parts = item.split(';');
                let lang = Lang::from_tag(parts.next()?)?;
                let q = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (q > 0.0).then_some((q, i, lang))
            })
            .collect();
        // Highest q first; among equals, the order the browser sent.
        choices.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        choices.first().map(|c| c.2)
    }
}

/// A translator bound to one language; cheap to copy into every page.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tr(pub Lang);

impl Tr {
    /// The text for `key`. An unknown key returns the key itself (and a test catches it).
    pub fn t(&self, key: &str) -> &'static str {
        CATALOG_INDEX
            .get(key)
            .map(|&(en, zh)| match self.0 {
                Lang::En => en,
                Lang::ZhHans => zh,
            })
            .unwrap_or_else(|| {
                tracing::warn!(key, "missing translation key");
                "?"
            })
    }

    /// The text for `key` with `{0}`, `{1}`… replaced by `args` (already plain text; the
    /// template still escapes the result).
    pub fn tf(&self, key: &str, args: &[&dyn std::fmt::Display]) -> String {
        let mut s = self.t(key).to_owned();
        for (i, a) in args.iter().enumerate() {
            s = s.replace(&format!("{{{i}}}"), &a.to_string());
        }
        s
    }

    pub fn lang(&self) -> Lang {
        self.0
    }
}

static CATALOG_INDEX: LazyLock<HashMap<&'static str, (&'static str, &'static str)>> =
    LazyLock::new(|| CATALOG.iter().map(|&(k, en, zh)| (k, (en, zh))).collect());

/// (key, English, Simplified Chinese).
pub static CATALOG: &[(&str, &str, &str)] = &[
    ("app.name", "Mailroom", "Mailroom"),
    // Login
    ("login.title", "Sign in", "登录"),
    ("login.username", "Email address", "邮箱地址"),
    ("login.password", "Password", "密码"),
    ("login.submit", "Sign in", "登录"),
    (
        "login.failed",
        "Wrong address or password",
        "邮箱地址或密码错误",
    ),
    (
        "login.missing",
        "Enter your address and password",
        "请输入邮箱地址和密码",
    ),
    ("login.language", "Language", "语言"),
    (
        "login.expired",
        "Your session has ended. Please sign in again.",
        "会话已结束，请重新登录。",
    ),
    ("logout", "Sign out", "退出"),
    // Folders
    ("folders", "Folders", "文件夹"),
    ("folder.inbox", "Inbox", "收件箱"),
    ("folder.drafts", "Drafts", "草稿箱"),
    ("folder.sent", "Sent", "已发送"),
    ("folder.trash", "Trash", "已删除"),
    ("folder.junk", "Junk", "垃圾邮件"),
    ("folder.archive", "Archive", "归档"),
    ("folder.unread", "{0} unread", "{0} 封未读"),
    // Message list
    (
        "list.empty",
        "No messages in this folder.",
        "此文件夹中没有邮件。",
    ),
    ("list.from", "From", "发件人"),
    ("list.subject", "Subject", "主题"),
    ("list.date", "Date", "日期"),
    ("list.size", "Size", "大小"),
    ("list.sort", "Sort by", "排序"),
    ("list.sort.date", "Newest first", "最新优先"),
    ("list.sort.date_asc", "Oldest first", "最早优先"),
    ("list.sort.from", "Sender", "发件人"),
    ("list.sort.subject", "Subject", "主题"),
    ("list.sort.size", "Largest first", "最大优先"),
    ("list.sort.apply", "Sort", "排序"),
    ("list.unread", "Unread", "未读"),
    ("list.flagged", "Flagged", "已标记"),
    ("list.answered", "Answered", "已回复"),
    ("list.attachment", "Has attachments", "有附件"),
    ("list.no_subject", "(no subject)", "（无主题）"),
    ("list.messages", "{0} messages", "{0} 封邮件"),
    ("page.prev", "Previous", "上一页"),
    ("page.next", "Next", "下一页"),
    ("page.of", "Page {0} of {1}", "第 {0} 页，共 {1} 页"),
    (
        "month.short",
        "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
        "1月 2月 3月 4月 5月 6月 7月 8月 9月 10月 11月 12月",
    ),
    ("date.day_month", "{0} {1}", "{1}{0}日"),
    // Message view
    ("msg.from", "From", "发件人"),
    ("msg.to", "To", "收件人"),
    ("msg.cc", "Cc", "抄送"),
    ("msg.reply_to", "Reply-To", "回复至"),
    ("msg.date", "Date", "日期"),
    ("msg.subject", "Subject", "主题"),
    ("msg.attachments", "Attachments", "附件"),
    ("msg.download", "Download", "下载"),
    (
        "msg.remote_blocked",
        "Remote content was blocked to protect your privacy.",
        "为保护您的隐私，已阻止远程内容。",
    ),
    ("msg.show_remote", "Show remote content", "显示远程内容"),
    ("msg.view_source", "View source", "查看源码"),
    ("msg.back", "Back to {0}", "返回{0}"),
    ("msg.body_frame", "Message body", "邮件正文"),
    ("msg.source_title", "Message source", "邮件源码"),
    (
        "msg.no_body",
        "This message has no text.",
        "此邮件没有正文。",
    ),
    ("msg.unknown_sender", "(unknown sender)", "（未知发件人）"),
    // Errors
    ("error.back_home", "Go to your inbox", "返回收件箱"),
    ("error.login.title", "Please sign in", "请登录"),
    (
        "error.login.text",
        "You need to sign in to see this page.",
        "您需要登录才能查看此页面。",
    ),
    ("error.notfound.title", "Not found", "未找到"),
    (
        "error.notfound.text",
        "This folder or message does not exist (it may have been moved or deleted).",
        "此文件夹或邮件不存在（可能已被移动或删除）。",
    ),
    (
        "error.unreachable.title",
        "The mail server is not reachable",
        "无法连接邮件服务器",
    ),
    (
        "error.unreachable.text",
        "Mailroom could not connect to the mail server. Please try again in a moment.",
        "Mailroom 无法连接到邮件服务器，请稍后再试。",
    ),
    (
        "error.bad.title",
        "Something is wrong with this request",
        "请求有误",
    ),
    (
        "error.bad.name",
        "That folder name is not valid.",
        "文件夹名称无效。",
    ),
    (
        "error.bad.uid",
        "That message number is not valid.",
        "邮件编号无效。",
    ),
    (
        "error.bad.part",
        "That attachment does not exist.",
        "附件不存在。",
    ),
    ("error.csrf.title", "This form has expired", "表单已过期"),
    (
        "error.csrf.text",
        "For your safety the form was not sent. Go back, reload the page and try again.",
        "为了安全，表单未被提交。请返回、刷新页面后重试。",
    ),
    ("error.internal.title", "Something went wrong", "出错了"),
    (
        "error.internal.text",
        "Mailroom hit an unexpected problem. It has been logged; please try again.",
        "Mailroom 遇到了意外问题，已记录日志，请重试。",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language() {
        assert_eq!(
            Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Some(Lang::ZhHans)
        );
        assert_eq!(
            Lang::from_accept_language("fr, en;q=0.5, zh;q=0.4"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language("de"), None);
        assert_eq!(
            Lang::from_accept_language("en;q=0, zh-TW;q=0.1"),
            Some(Lang::ZhHans)
        );
    }

    #[test]
    fn keys_are_unique_and_complete() {
        let mut seen = std::collections::HashSet::new();
        for (k, en, zh) in CATALOG {
            assert!(seen.insert(*k), "duplicate key {k}");
            assert!(!en.is_empty() && !zh.is_empty(), "empty text for {k}");
        }
    }

    /// Every `t("…")`/`tf("…"` key in the templates and sources exists in the catalog.
    #[test]
    fn every_used_key_exists() {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut files = Vec::new();
        for dir in ["templates", "src"] {
            collect(&std::path::Path::new(root).join(dir), &mut files);
        }
        let mut missing = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            for pat in [".t(\"", ".tf(\""] {
                for (i, _) in text.match_indices(pat) {
                    let rest = &text[i + pat.len()..];
                    if let Some(end) = rest.find('"') {
                        let key = &rest[..end];
                        if !key.is_empty() && !CATALOG_INDEX.contains_key(key) {
                            missing.push(format!("{}: {key}", f.display()));
                        }
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "keys missing from the catalog: {missing:#?}"
        );
    }

    fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                collect(&p, out);
            } else if p.extension().is_some_and(|x| x == "html" || x == "rs") {
                out.push(p);
            }
        }
    }
}
