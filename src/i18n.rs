//! The translation catalog. Every user-facing string goes through [`Tr::t`]; templates call
//! `tr.t(…)` with a catalog key. A test checks that every key used in `templates/` and in the code exists
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
    pub fn tf(&self, key: &str, args: &[&(dyn std::fmt::Display + Sync)]) -> String {
        let mut s = self.t(key).to_owned();
        for (i, a) in args.iter().enumerate() {
            s = s.replace(&format!("{{{i}}}"), &a.to_string());
        }
        s
    }

    pub fn lang(&self) -> Lang {
        self.0
    }

    /// `key` with `n` in it, grouped by thousands ("10,000 messages"); English says one
    /// with `key.one` ("1 message"), Chinese has no plural.
    pub fn count(&self, key: &str, n: u64) -> String {
        let one = format!("{key}.one");
        let key = if n == 1 && self.0 == Lang::En && CATALOG_INDEX.contains_key(one.as_str()) {
            one.as_str()
        } else {
            key
        };
        self.tf(key, &[&group_thousands(n)])
    }
}

/// `n` with a comma between groups of three digits, as both English and Chinese write it.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
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
    // Top bar links (contacts and settings)
    ("nav.contacts", "Contacts", "通讯录"),
    ("nav.settings", "Settings", "设置"),
    // Address validation (src/mime/address.rs); {0} is the entry as typed
    (
        "address.error.control",
        "“{0}” contains a line break or another control character.",
        "“{0}”包含换行符或其他控制字符。",
    ),
    (
        "address.error.unbalanced",
        "“{0}” has an unclosed quote or angle bracket.",
        "“{0}”中的引号或尖括号没有闭合。",
    ),
    (
        "address.error.missing",
        "Enter an email address.",
        "请输入邮箱地址。",
    ),
    (
        "address.error.missing_at",
        "“{0}” is not an email address (it has no @).",
        "“{0}”不是邮箱地址（缺少 @）。",
    ),
    (
        "address.error.empty_local",
        "“{0}” has nothing before the @.",
        "“{0}”的 @ 前面缺少用户名。",
    ),
    (
        "address.error.empty_domain",
        "“{0}” has no domain after the @.",
        "“{0}”的 @ 后面缺少域名。",
    ),
    (
        "address.error.space",
        "“{0}” contains a space; separate addresses with commas.",
        "“{0}”中含有空格；多个地址请用逗号分隔。",
    ),
    (
        "address.error.local",
        "The part before the @ in “{0}” is not valid.",
        "“{0}”中 @ 前面的部分无效。",
    ),
    (
        "address.error.domain",
        "The domain in “{0}” is not valid.",
        "“{0}”中的域名无效。",
    ),
    (
        "address.error.trailing",
        "“{0}” has text after the closing >.",
        "“{0}”在 > 之后还有多余的文字。",
    ),
    (
        "address.error.too_long",
        "The address or the list of addresses is too long.",
        "地址或地址列表太长。",
    ),
    (
        "address.error.not_single",
        "Enter only one address here.",
        "这里只能填写一个地址。",
    ),
    (
        "form.error.name",
        "A name is at most 200 characters, without line breaks or control characters.",
        "名称最多 200 个字符，且不能包含换行符或控制字符。",
    ),
    // Contacts page
    ("contacts.title", "Contacts", "通讯录"),
    ("contacts.count", "{0} contacts", "{0} 位联系人"),
    (
        "contacts.empty",
        "No contacts yet. People you write to are added automatically.",
        "还没有联系人。您发信的收件人会自动添加到这里。",
    ),
    ("contacts.name", "Name", "姓名"),
    ("contacts.email", "Email address", "邮箱地址"),
    ("contacts.actions", "Actions", "操作"),
    ("contacts.add", "Add a contact", "添加联系人"),
    ("contacts.add.submit", "Add", "添加"),
    ("contacts.edit", "Edit", "编辑"),
    ("contacts.save", "Save", "保存"),
    ("contacts.cancel", "Cancel", "取消"),
    ("contacts.delete", "Delete", "删除"),
    (
        "contacts.collected",
        "added from sent mail",
        "从已发送邮件中添加",
    ),
    ("contacts.search", "Search contacts", "搜索联系人"),
    ("contacts.search.submit", "Search", "搜索"),
    ("contacts.search.clear", "Show all", "显示全部"),
    (
        "contacts.no_match",
        "No contacts match “{0}”.",
        "没有与“{0}”匹配的联系人。",
    ),
    ("contacts.saved", "Contact saved.", "联系人已保存。"),
    ("contacts.deleted", "Contact deleted.", "联系人已删除。"),
    (
        "contacts.error.duplicate",
        "Another contact already has this address.",
        "已有其他联系人使用此地址。",
    ),
    (
        "contacts.error.full",
        "Your address book is full ({0} contacts).",
        "通讯录已满（{0} 位联系人）。",
    ),
    ("contacts.import", "Import a vCard file", "导入 vCard 文件"),
    (
        "contacts.import.file",
        "vCard file (.vcf)",
        "vCard 文件（.vcf）",
    ),
    ("contacts.import.submit", "Import", "导入"),
    (
        "contacts.import.done",
        "Imported {0} contacts; skipped {1}.",
        "已导入 {0} 位联系人，跳过 {1} 条。",
    ),
    (
        "contacts.import.none",
        "Choose a vCard file to import.",
        "请选择要导入的 vCard 文件。",
    ),
    (
        "contacts.import.too_large",
        "The file is too large (at most {0}).",
        "文件太大（最多 {0}）。",
    ),
    (
        "contacts.import.not_vcard",
        "This is not a vCard (.vcf) file.",
        "此文件不是 vCard（.vcf）文件。",
    ),
    ("contacts.export", "Export all as vCard", "全部导出为 vCard"),
    // Settings page
    ("settings.title", "Settings", "设置"),
    ("settings.saved", "Settings saved.", "设置已保存。"),
    ("settings.removed", "Address removed.", "地址已移除。"),
    ("settings.identities", "Identities", "身份"),
    (
        "settings.identities.intro",
        "The name and signature people see when you write. You can add more From addresses if your mail server lets you send from them.",
        "收件人看到的发件人姓名和签名。如果邮件服务器允许，您还可以添加其他发件地址。",
    ),
    ("settings.identity.email", "From address", "发件地址"),
    ("settings.identity.name", "Display name", "显示名称"),
    ("settings.identity.signature", "Signature", "签名"),
    (
        "settings.identity.signature_hint",
        "Plain text, added below your messages.",
        "纯文本，附加在邮件末尾。",
    ),
    ("settings.identity.default", "Use by default", "默认使用"),
    ("settings.identity.is_default", "Default", "默认"),
    (
        "settings.identity.login",
        "your sign-in address",
        "您的登录地址",
    ),
    ("settings.identity.save", "Save", "保存"),
    ("settings.identity.delete", "Remove", "移除"),
    (
        "settings.identity.add",
        "Add another From address",
        "添加其他发件地址",
    ),
    ("settings.identity.add.submit", "Add address", "添加地址"),
    (
        "settings.identity.server_may_refuse",
        "Your mail server decides which From addresses you may use. If it does not allow {0} for your account, it will refuse messages sent from it.",
        "邮件服务器决定您可以使用哪些发件地址。如果服务器不允许您的账户使用 {0}，从该地址发送的邮件将被拒绝。",
    ),
    (
        "settings.identity.other_address",
        "Your mail server decides which From addresses you may use: it may refuse messages from an address other than your sign-in address.",
        "邮件服务器决定您可以使用哪些发件地址：使用登录地址以外的地址发送的邮件可能会被拒绝。",
    ),
    (
        "settings.error.duplicate",
        "You already have an identity with this address.",
        "已有使用此地址的身份。",
    ),
    (
        "settings.error.signature",
        "The signature is at most {0} characters, without control characters.",
        "签名最多 {0} 个字符，且不能包含控制字符。",
    ),
    (
        "settings.error.too_many",
        "You can have at most {0} identities.",
        "最多只能有 {0} 个身份。",
    ),
    ("settings.language", "Language", "语言"),
    (
        "settings.language.intro",
        "The language of Mailroom's pages in this browser.",
        "此浏览器中 Mailroom 页面的语言。",
    ),
    ("settings.language.save", "Save language", "保存语言"),
    (
        "settings.error.language",
        "That language is not available.",
        "不支持该语言。",
    ),
    ("settings.more", "More settings", "更多设置"),
    (
        "settings.remote",
        "Trusted senders for remote content",
        "允许显示远程内容的发件人",
    ),
    (
        "settings.remote.hint",
        "Senders whose images and other remote content load without asking.",
        "来自这些发件人的图片等远程内容将直接加载。",
    ),
    ("settings.folders", "Folders", "文件夹"),
    (
        "settings.folders.hint",
        "Create, rename and delete folders; choose which ones to show.",
        "新建、重命名和删除文件夹；选择要显示的文件夹。",
    ),
    // Folders
    ("folders", "Folders", "文件夹"),
    ("drawer.open", "Folders and menu", "文件夹和菜单"),
    ("drawer.close", "Close", "关闭"),
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
    ("list.messages.one", "{0} message", "{0} 封邮件"),
    ("list.select", "Select", "选择"),
    ("list.select_all", "Select all", "全选"),
    ("list.folder", "Folder", "文件夹"),
    // Organizing mail: message actions (web/actions.rs)
    ("action.label", "Action", "操作"),
    ("action.target", "Folder", "目标文件夹"),
    ("action.apply", "Apply to selected", "应用到所选邮件"),
    (
        "action.apply_page",
        "Apply to all on this page",
        "应用到本页全部邮件",
    ),
    ("action.read", "Mark as read", "标为已读"),
    ("action.unread", "Mark as unread", "标为未读"),
    ("action.flag", "Flag", "加旗标"),
    ("action.unflag", "Remove flag", "取消旗标"),
    ("action.move", "Move", "移动"),
    ("action.copy", "Copy", "复制"),
    ("action.archive", "Archive", "归档"),
    ("action.spam", "Spam", "标为垃圾邮件"),
    ("action.notspam", "Not spam", "不是垃圾邮件"),
    ("action.delete", "Delete", "删除"),
    ("action.delete_forever", "Delete for good", "永久删除"),
    ("action.empty", "Empty this folder", "清空此文件夹"),
    (
        "notice.done.read",
        "Marked as read: {0}",
        "已标为已读：{0} 封",
    ),
    (
        "notice.done.unread",
        "Marked as unread: {0}",
        "已标为未读：{0} 封",
    ),
    ("notice.sent", "Message sent", "邮件已发送"),
    ("notice.done.flag", "Flagged: {0}", "已加旗标：{0} 封"),
    (
        "notice.done.unflag",
        "Flag removed: {0}",
        "已取消旗标：{0} 封",
    ),
    ("notice.done.move", "Moved: {0}", "已移动：{0} 封"),
    ("notice.done.copy", "Copied: {0}", "已复制：{0} 封"),
    ("notice.done.archive", "Archived: {0}", "已归档：{0} 封"),
    (
        "notice.done.spam",
        "Moved to Junk: {0}",
        "已移到垃圾邮件：{0} 封",
    ),
    (
        "notice.done.notspam",
        "Moved back to the inbox: {0}",
        "已移回收件箱：{0} 封",
    ),
    ("notice.done.delete", "Deleted: {0}", "已删除：{0} 封"),
    (
        "notice.done.undo",
        "Moved back: {0}",
        "已撤销，移回：{0} 封",
    ),
    ("action.undo", "Undo", "撤销"),
    ("action.more", "More", "更多"),
    (
        "notice.done.expunge",
        "Deleted for good: {0}",
        "已永久删除：{0} 封",
    ),
    (
        "notice.emptied",
        "Folder emptied: {0} messages deleted for good",
        "文件夹已清空：永久删除 {0} 封邮件",
    ),
    (
        "notice.stale",
        "This folder was changed by another program, so nothing was done. The list has been reloaded; please choose again.",
        "此文件夹已被其他程序更改，因此未执行任何操作。列表已重新加载，请重新选择。",
    ),
    (
        "notice.gone",
        "These messages had already been deleted or moved elsewhere (for example from another device). The list has been refreshed.",
        "这些邮件已在别处（例如另一台设备上）被删除或移动。列表已刷新。",
    ),
    (
        "notice.gone_some",
        "Done, but {0} of the messages had already been deleted or moved elsewhere. The list has been refreshed.",
        "已完成，但其中 {0} 封邮件已在别处被删除或移动。列表已刷新。",
    ),
    (
        "notice.no_target",
        "The target folder no longer exists. Nothing was moved; your messages are still here.",
        "目标文件夹已不存在。未移动任何邮件，邮件仍在此处。",
    ),
    (
        "notice.same_folder",
        "The messages are already in that folder.",
        "邮件已在该文件夹中。",
    ),
    (
        "notice.none_selected",
        "Select at least one message first.",
        "请先选择至少一封邮件。",
    ),
    (
        "notice.choose_target",
        "Choose a folder to move or copy to.",
        "请选择要移动或复制到的文件夹。",
    ),
    (
        "notice.not_permitted",
        "Your access rights in this folder do not allow that; nothing was changed.",
        "您在此文件夹中的权限不允许此操作，未做任何更改。",
    ),
    ("confirm.delete.title", "Delete for good?", "永久删除？"),
    (
        "confirm.delete.question",
        "Delete {0} message(s) for good?",
        "确定要永久删除 {0} 封邮件吗？",
    ),
    ("confirm.empty.title", "Empty {0}?", "清空“{0}”？"),
    (
        "confirm.empty.question",
        "Delete all {1} messages in {0} for good?",
        "确定要永久删除“{0}”中的全部 {1} 封邮件吗？",
    ),
    (
        "confirm.cannot_undo",
        "This cannot be undone.",
        "此操作无法撤销。",
    ),
    ("confirm.cancel", "Cancel", "取消"),
    ("msg.newer", "Newer", "较新一封"),
    ("msg.older", "Older", "较早一封"),
    ("export.eml", "Download (.eml)", "下载（.eml）"),
    ("export.zip", "All attachments (.zip)", "全部附件（.zip）"),
    ("export.mbox", "Export folder (mbox)", "导出文件夹（mbox）"),
    (
        "error.bad.action",
        "That action is not known.",
        "未知的操作。",
    ),
    (
        "error.bad.empty",
        "Only Trash and Junk can be emptied.",
        "只能清空“已删除”和“垃圾邮件”文件夹。",
    ),
    // Keyboard shortcuts (static/app.js, components/shortcuts.html)
    ("keys.title", "Keyboard shortcuts", "键盘快捷键"),
    (
        "keys.next_prev",
        "Next / previous message",
        "下一封 / 上一封",
    ),
    ("keys.open", "Open the message", "打开邮件"),
    ("keys.reply", "Reply", "回复"),
    ("keys.reply_all", "Reply all", "全部回复"),
    ("keys.forward", "Forward", "转发"),
    ("keys.compose", "Write a new message", "写新邮件"),
    ("keys.delete", "Delete", "删除"),
    ("keys.archive", "Archive", "归档"),
    ("keys.search", "Search", "搜索"),
    ("keys.help", "Show this list", "显示此列表"),
    ("keys.close", "Close", "关闭"),
    // Folder management (web/folders.rs)
    ("folders.manage", "Manage folders", "管理文件夹"),
    ("folders.title", "Folders", "文件夹管理"),
    ("folders.create", "New folder", "新建文件夹"),
    ("folders.create.submit", "Create folder", "创建文件夹"),
    ("folders.name", "Name", "名称"),
    ("folders.parent", "Inside", "上级文件夹"),
    ("folders.top_level", "(top level)", "（顶层）"),
    ("folders.all", "All folders", "全部文件夹"),
    (
        "folders.subscribe_hint",
        "The sidebar shows the folders you subscribe to; every folder is listed here.",
        "侧边栏只显示已订阅的文件夹；这里列出全部文件夹。",
    ),
    ("folders.messages", "Messages", "邮件"),
    ("folders.in_sidebar", "Sidebar", "侧边栏"),
    ("folders.subscribe", "Show in sidebar", "在侧边栏显示"),
    ("folders.unsubscribe", "Hide from sidebar", "从侧边栏隐藏"),
    ("folders.settings", "Settings", "设置"),
    ("folders.open", "Open", "打开"),
    (
        "folders.counts",
        "{0} messages, {1} unread",
        "{0} 封邮件，{1} 封未读",
    ),
    (
        "folders.protected_hint",
        "This is a standard folder: it cannot be renamed or deleted.",
        "这是标准文件夹，不能重命名或删除。",
    ),
    ("folders.rename", "Rename or move", "重命名或移动"),
    ("folders.rename.submit", "Save", "保存"),
    ("folders.delete", "Delete folder", "删除文件夹"),
    ("folders.delete.title", "Delete folder?", "删除文件夹？"),
    (
        "folders.delete.question",
        "Delete {0} with everything in it ({1} messages, including subfolders)?",
        "确定要删除“{0}”及其中的全部内容（共 {1} 封邮件，包括子文件夹）吗？",
    ),
    (
        "folders.notice.created",
        "Folder created.",
        "文件夹已创建。",
    ),
    (
        "folders.notice.renamed",
        "Folder renamed.",
        "文件夹已重命名。",
    ),
    (
        "folders.notice.deleted",
        "Folder deleted.",
        "文件夹已删除。",
    ),
    (
        "folders.notice.subscribed",
        "The folder is shown in the sidebar.",
        "该文件夹已显示在侧边栏。",
    ),
    (
        "folders.notice.unsubscribed",
        "The folder is hidden from the sidebar.",
        "该文件夹已从侧边栏隐藏。",
    ),
    ("folders.error.empty", "Enter a name.", "请输入名称。"),
    (
        "folders.error.too_long",
        "This name is too long. Please use a shorter one.",
        "名称太长，请使用较短的名称。",
    ),
    (
        "folders.error.delimiter",
        "A name cannot contain \"{0}\": it separates folder levels. To make a subfolder, choose its parent under \"Inside\".",
        "名称中不能包含“{0}”，它用于分隔文件夹层级。要创建子文件夹，请在“上级文件夹”中选择。",
    ),
    (
        "folders.error.forbidden",
        "A name cannot contain * or %, control characters, or be \".\" or \"..\".",
        "名称中不能包含 * 或 %、控制字符，也不能是“.”或“..”。",
    ),
    (
        "folders.error.exists",
        "A folder with this name already exists here.",
        "此处已有同名文件夹。",
    ),
    (
        "folders.error.no_parent",
        "The chosen parent folder no longer exists.",
        "所选的上级文件夹已不存在。",
    ),
    (
        "folders.error.protected",
        "Standard folders (Inbox, Drafts, Sent, Archive, Junk, Trash) and folders containing them cannot be renamed or deleted.",
        "标准文件夹（收件箱、草稿箱、已发送、归档、垃圾邮件、已删除）及包含它们的文件夹不能重命名或删除。",
    ),
    (
        "folders.error.into_itself",
        "A folder cannot be moved into itself or one of its subfolders.",
        "文件夹不能移动到自身或其子文件夹中。",
    ),
    (
        "folders.error.refused",
        "The mail server refused this name. Please try another one.",
        "邮件服务器拒绝了此名称，请换一个。",
    ),
    (
        "error.bad.subscribed",
        "Invalid subscription value.",
        "无效的订阅值。",
    ),
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
    // Hardening (issue 5): trusted senders, login throttling
    (
        "msg.trust_address",
        "Always show for {0}",
        "始终显示来自 {0} 的远程内容",
    ),
    (
        "msg.trust_domain",
        "Always show for everyone at {0}",
        "始终显示来自 {0} 所有发件人的远程内容",
    ),
    (
        "msg.remote_trusted",
        "Remote images are shown because you trust this sender.",
        "您信任此发件人，因此显示了远程图片。",
    ),
    (
        "msg.manage_trusted",
        "Manage trusted senders",
        "管理受信任的发件人",
    ),
    // Trusted senders need proof (issue 9): why a trusted sender's images did not load.
    (
        "msg.trust_unverified.off",
        "You trust this sender, but images are not loaded automatically: this server is not set up to check who really sent a message.",
        "您信任此发件人，但图片不会自动加载：此服务器未配置验证邮件的真实发件人。",
    ),
    (
        "msg.trust_unverified.none",
        "You trust this sender, but images are not loaded automatically: your mail server did not confirm that this message really comes from them.",
        "您信任此发件人，但图片不会自动加载：您的邮件服务器未确认此邮件确实来自该发件人。",
    ),
    (
        "msg.trust_unverified.failed",
        "You trust this sender, but images are not loaded automatically: this message failed your mail server's sender check (DKIM/DMARC), so its sender may be forged.",
        "您信任此发件人，但图片不会自动加载：此邮件未通过邮件服务器的发件人验证（DKIM/DMARC），发件人可能是伪造的。",
    ),
    ("trusted.title", "Remote content", "远程内容"),
    ("trusted.back", "Settings", "设置"),
    (
        "trusted.intro",
        "Images and other content from the internet are blocked in messages until you allow them. Messages from the addresses and domains below show their images right away, fetched by Mailroom, so the sender never sees your IP address.",
        "邮件中来自互联网的图片等内容在您允许之前都会被阻止。来自下列地址和域名的邮件会直接显示图片，图片由 Mailroom 代为获取，发件人看不到您的 IP 地址。",
    ),
    ("trusted.list", "Trusted senders", "受信任的发件人"),
    (
        "trusted.empty",
        "You trust no sender yet.",
        "您还没有信任任何发件人。",
    ),
    ("trusted.kind", "Trust", "信任范围"),
    ("trusted.kind.address", "One address", "单个地址"),
    ("trusted.kind.domain", "A whole domain", "整个域名"),
    ("trusted.value", "Address or domain", "地址或域名"),
    ("trusted.add", "Add a trusted sender", "添加受信任的发件人"),
    ("trusted.add.submit", "Trust", "信任"),
    ("trusted.remove", "Remove", "移除"),
    ("trusted.added", "Saved.", "已保存。"),
    ("trusted.removed", "Removed.", "已移除。"),
    (
        "trusted.error.address",
        "Enter an email address, like news@shop.example.",
        "请输入邮箱地址，例如 news@shop.example。",
    ),
    (
        "trusted.error.domain",
        "Enter a domain name, like shop.example.",
        "请输入域名，例如 shop.example。",
    ),
    (
        "trusted.error.too_many",
        "You trust too many senders already; remove some first.",
        "受信任的发件人已达上限，请先移除一些。",
    ),
    (
        "trusted.error.kind",
        "Choose an address or a domain.",
        "请选择地址或域名。",
    ),
    (
        "trusted.error.action",
        "This form cannot be sent like that.",
        "此表单无法这样提交。",
    ),
    (
        "login.throttled",
        "Too many attempts, try again in {0} minutes.",
        "尝试次数过多，请在 {0} 分钟后重试。",
    ),
    (
        "login.throttled_one",
        "Too many attempts, try again in 1 minute.",
        "尝试次数过多，请在 1 分钟后重试。",
    ),
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
    // Compose (src/web/compose.rs, templates/pages/compose.html)
    ("nav.compose", "Write", "写邮件"),
    ("compose.title", "New message", "写邮件"),
    ("compose.from", "From", "发件人"),
    ("compose.to", "To", "收件人"),
    ("compose.cc", "Cc", "抄送"),
    ("compose.bcc", "Bcc", "密送"),
    ("compose.subject", "Subject", "主题"),
    ("compose.body", "Message", "正文"),
    ("compose.options", "Options", "选项"),
    ("compose.cc_bcc", "Cc and Bcc", "抄送和密送"),
    (
        "compose.warn.no_subject",
        "This message has no subject. Press Send again to send it as it is.",
        "这封邮件没有主题。再按一次“发送”即按原样发出。",
    ),
    (
        "compose.warn.no_text",
        "This message has no text and nothing attached. Press Send again to send it as it is.",
        "这封邮件没有正文，也没有附件。再按一次“发送”即按原样发出。",
    ),
    ("compose.priority", "Priority", "优先级"),
    ("compose.priority.high", "High", "高"),
    ("compose.priority.normal", "Normal", "普通"),
    ("compose.priority.low", "Low", "低"),
    (
        "compose.request_mdn",
        "Ask for a read receipt",
        "请求已读回执",
    ),
    (
        "compose.request_dsn",
        "Ask for a delivery report",
        "请求投递状态通知",
    ),
    ("compose.attachments", "Attachments", "附件"),
    ("compose.add_files", "Add files", "添加文件"),
    (
        "compose.staged_hint",
        "Untick a file to remove it.",
        "取消勾选即可移除该文件。",
    ),
    (
        "compose.size_hint",
        "At most {0} in total (attachments grow by a third when sent).",
        "总大小不超过 {0}（附件发送时会增大约三分之一）。",
    ),
    ("compose.forward_mode", "Include the original", "附带原邮件"),
    (
        "compose.forward_inline",
        "In the text, with its attachments",
        "放在正文中（连同其附件）",
    ),
    (
        "compose.forward_attachment",
        "As an attached message",
        "作为附件邮件",
    ),
    (
        "compose.forward_note",
        "The original message “{0}” ({1} attachments) will be included.",
        "将附带原邮件“{0}”（{1} 个附件）。",
    ),
    ("compose.forwarded", "Forwarded message", "转发的邮件"),
    (
        "compose.attribution",
        "On {0}, {1} wrote:",
        "{1} 于 {0} 写道：",
    ),
    ("compose.send", "Send", "发送"),
    ("compose.save_draft", "Save draft", "保存草稿"),
    ("compose.cancel", "Cancel", "取消"),
    ("compose.draft_saved", "Draft saved.", "草稿已保存。"),
    (
        "compose.restored",
        "Your session had ended; here is the message you were writing.",
        "会话已结束；这是您刚才正在写的邮件。",
    ),
    (
        "compose.restore_missing",
        "The message you were writing could not be found any more.",
        "找不到您之前正在写的邮件了。",
    ),
    (
        "compose.error.draft_files_gone",
        "The draft's files could not be read any more. Please attach them again.",
        "无法再读取草稿中的文件，请重新添加附件。",
    ),
    (
        "compose.error.park_full",
        "Your session had ended, and the message you were writing could not be kept: too much is already waiting to be restored. Sign in and write it again.",
        "会话已结束，且无法保留您正在写的邮件：等待恢复的内容已经太多。请登录后重新撰写。",
    ),
    (
        "compose.saved_after_failure",
        "Your message was not sent, but it was saved to Drafts.",
        "邮件未发送，但已保存到草稿箱。",
    ),
    (
        "compose.error.no_recipients",
        "Add at least one recipient.",
        "请至少添加一位收件人。",
    ),
    (
        "compose.error.control",
        "Line breaks and control characters are not allowed here.",
        "此处不能包含换行符或控制字符。",
    ),
    (
        "compose.error.subject_long",
        "The subject is too long.",
        "主题过长。",
    ),
    (
        "compose.error.from",
        "Choose one of your addresses.",
        "请选择您的一个发件地址。",
    ),
    (
        "compose.error.too_large",
        "Not attached: {0}. A message may be at most {1}.",
        "未能附加：{0}。邮件总大小不能超过 {1}。",
    ),
    (
        "compose.error.smtp_down",
        "The mail server could not be reached, so the message was not sent.",
        "无法连接发信服务器，邮件未发送。",
    ),
    (
        "compose.error.smtp_auth",
        "The mail server did not accept your login for sending.",
        "发信服务器不接受您的登录。",
    ),
    (
        "compose.error.refused",
        "The mail server refused the message: {0}",
        "发信服务器拒绝了这封邮件：{0}",
    ),
    (
        "compose.error.rejected",
        "The mail server refused these recipients: {0} ({1})",
        "发信服务器拒绝了这些收件人：{0}（{1}）",
    ),
    (
        "compose.error.draft_failed",
        "The draft could not be saved on the mail server.",
        "无法在邮件服务器上保存草稿。",
    ),
    // Reply, forward and read receipts on the message page
    ("msg.reply", "Reply", "回复"),
    ("msg.reply_all", "Reply all", "全部回复"),
    ("msg.forward", "Forward", "转发"),
    (
        "receipt.prompt",
        "The sender asked for a read receipt.",
        "发件人请求已读回执。",
    ),
    ("receipt.send", "Send read receipt", "发送已读回执"),
    ("receipt.ignore", "Ignore", "忽略"),
    ("receipt.subject", "Read: {0}", "已读：{0}"),
    (
        "receipt.text",
        "Your message of {0} to {1} with the subject “{2}” was displayed. This does not mean it was read or understood.",
        "您于 {0} 发给 {1}、主题为“{2}”的邮件已被显示。这并不代表邮件已被阅读或理解。",
    ),
    (
        "error.bad.receipt",
        "This message did not ask for a read receipt.",
        "此邮件没有请求已读回执。",
    ),
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
    ("error.busy.title", "Mailroom is busy", "Mailroom 正忙"),
    (
        "error.busy.text",
        "Mailroom is using every connection to the mail server it may open. Please try again in a moment.",
        "Mailroom 已用满允许的邮件服务器连接，请稍后再试。",
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
    // Search (web::search)
    ("search.label", "Search this folder", "搜索此文件夹"),
    ("search.placeholder", "Search mail", "搜索邮件"),
    ("search.field", "Search in", "搜索范围"),
    (
        "search.field.headers",
        "Subject, from, to",
        "主题、发件人、收件人",
    ),
    (
        "search.field.all",
        "Everywhere, message text too",
        "全部（含正文）",
    ),
    ("search.field.subject", "Subject", "主题"),
    ("search.field.from", "From", "发件人"),
    ("search.field.to", "To", "收件人"),
    ("search.field.body", "Message text", "正文"),
    ("search.submit", "Search", "搜索"),
    ("search.filters", "Filters", "筛选"),
    ("search.unread", "Unread only", "仅未读"),
    ("search.flagged", "Flagged only", "仅已标记"),
    ("search.attachments", "With attachments", "有附件"),
    ("search.all_folders", "Search all folders", "搜索所有文件夹"),
    ("search.since", "From date", "起始日期"),
    ("search.before", "Before date", "截止日期（不含）"),
    ("search.title", "Search in {0}", "在{0}中搜索"),
    ("search.heading", "Search results in {0}", "{0}中的搜索结果"),
    (
        "search.heading_all",
        "Search results in all folders",
        "所有文件夹中的搜索结果",
    ),
    ("search.results", "{0} found", "找到 {0} 封"),
    (
        "search.none",
        "No messages match this search.",
        "没有符合搜索条件的邮件。",
    ),
    (
        "search.error.control",
        "The search text contains line breaks or other control characters; please remove them.",
        "搜索内容包含换行符或其他控制字符，请删除后重试。",
    ),
    (
        "search.error.too_long",
        "The search text is too long (at most 200 characters).",
        "搜索内容过长（最多 200 个字符）。",
    ),
    (
        "search.error.date",
        "Enter dates as YYYY-MM-DD, for example 2026-11-26.",
        "日期格式应为 YYYY-MM-DD，例如 2026-11-26。",
    ),
    (
        "search.error.date_order",
        "The start date must be before the end date.",
        "起始日期必须早于截止日期。",
    ),
    (
        "search.include_text",
        "Search the message text too",
        "同时搜索邮件正文",
    ),
    (
        "search.slow",
        "This server has no full-text index: searching the message text reads every message and may be slow in large folders.",
        "此服务器没有全文索引：搜索邮件正文需要逐封读取，在大文件夹中可能较慢。",
    ),
    ("search.view_threads", "Group by conversation", "按会话分组"),
    (
        "search.view_messages",
        "Show as a list of messages",
        "按邮件列表显示",
    ),
    // Conversations (web::threads)
    ("threads.count", "{0} conversations", "{0} 个会话"),
    ("threads.one", "1 message", "1 封邮件"),
    ("threads.size", "{0} messages", "{0} 封邮件"),
    ("threads.conversation", "Conversation", "会话"),
    ("threads.in_folder", "in {0}", "位于{0}"),
    // Quota (web::share)
    ("quota.title", "Mailbox storage", "邮箱存储空间"),
    (
        "quota.used",
        "{0} of {1} used ({2}%)",
        "已用 {0}，共 {1}（{2}%）",
    ),
    (
        "quota.warning",
        "Your mailbox is almost full. Delete or archive messages, or new mail may be refused.",
        "您的邮箱即将满额。请删除或归档邮件，否则可能无法接收新邮件。",
    ),
    // Shared folders and sharing (web::share)
    ("share.section", "Shared folders", "共享文件夹"),
    ("share.ns.users", "Shared with me", "他人共享给我"),
    ("share.ns.public", "Public folders", "公共文件夹"),
    ("share.link", "Share this folder", "共享此文件夹"),
    ("share.title", "Sharing {0}", "共享{0}"),
    ("share.heading", "Sharing", "共享设置"),
    ("share.who", "Who has access", "有权访问的用户"),
    ("share.user", "User", "用户"),
    (
        "share.user_placeholder",
        "teammate@example.com",
        "teammate@example.com",
    ),
    ("share.rights", "Access", "权限"),
    ("share.level.read", "Read", "只读"),
    ("share.level.read-write", "Read and write", "读写"),
    ("share.level.none", "No access", "无权限"),
    ("share.level.owner", "Owner", "所有者"),
    ("share.remove", "Remove", "移除"),
    ("share.add", "Share with a teammate", "与同事共享"),
    ("share.submit", "Save", "保存"),
    (
        "share.hint",
        "Read: see the folder and its messages. Read and write: also flag, add, move and delete messages. \"No access\" removes the teammate.",
        "只读：可查看文件夹及邮件。读写：还可标记、添加、移动和删除邮件。选择“无权限”将移除该同事。",
    ),
    ("share.done", "Sharing updated.", "共享设置已更新。"),
    (
        "share.error.user",
        "Enter the teammate's login name (usually an email address), without spaces.",
        "请输入同事的登录名（通常是邮箱地址），不要包含空格。",
    ),
    (
        "share.error.teammate",
        "Share with one teammate: not with yourself, \"anyone\" or a group.",
        "只能与单个同事共享：不能是您自己、“anyone”或群组。",
    ),
    (
        "share.error.rights",
        "Choose an access level.",
        "请选择权限级别。",
    ),
    (
        "share.unsupported",
        "This mail server does not support sharing folders.",
        "此邮件服务器不支持共享文件夹。",
    ),
    (
        "share.not_allowed",
        "You are not allowed to change who has access to this folder.",
        "您无权更改此文件夹的访问权限。",
    ),
    // Messages too large to show (src/web/message.rs)
    (
        "msg.too_large",
        "Part of this message is too large to display here — download it.",
        "此邮件有部分内容过大，无法在此显示——请下载查看。",
    ),
    ("msg.too_large_part", "Download {0}", "下载 {0}"),
    (
        "msg.more_attachments",
        "{0} more attachments are not listed here — download them all as one .zip.",
        "另有 {0} 个附件未在此列出——可打包下载（.zip）。",
    ),
    // Mail rules (issue 12): filters, vacation, forwarding, the Sieve editor
    ("rules.title", "Filters", "过滤规则"),
    ("rules.edit", "Edit", "编辑"),
    ("rules.edit.title", "Edit filter", "编辑过滤规则"),
    ("rules.edit.submit", "Save filter", "保存过滤规则"),
    ("rules.edit.cancel", "Cancel", "取消"),
    ("rules.field.size_over", "Size is over", "大小超过"),
    ("rules.field.size_under", "Size is under", "大小小于"),
    (
        "rules.error.size",
        "Enter a size such as 500K or 2M.",
        "请输入大小，例如 500K 或 2M。",
    ),
    ("rules.summary.and", " and ", "，并且 "),
    ("rules.action2", "And also (optional)", "同时（可选）"),
    ("rules.action.none", "Nothing more", "无其他操作"),
    (
        "rules.error.discard_alone",
        "“Delete for good” cannot be combined with another action.",
        "“永久删除”不能与其他操作组合。",
    ),
    (
        "rules.error.same_action",
        "The second action is the same as the first.",
        "第二个操作与第一个相同。",
    ),
    (
        "rules.error.gone",
        "This filter was deleted in another window, so nothing was saved. Your input is kept below; saving it adds it as a new filter.",
        "该过滤规则已在另一个窗口中被删除，未保存任何内容。您的输入保留在下方；再次保存将把它添加为新规则。",
    ),
    (
        "rules.saved_merged",
        "Saved on the mail server. The rules had also been changed in another window; both changes are kept.",
        "已保存到邮件服务器。规则也在另一个窗口中被修改过；两处修改都已保留。",
    ),
    (
        "advanced.error.changed",
        "The rules were changed elsewhere since you opened this editor, so nothing was saved. Your text is kept below; reload the page to see the newer script.",
        "自您打开此编辑器以来，规则已在别处被修改，未保存任何内容。您的文本保留在下方；重新加载页面可查看较新的脚本。",
    ),
    ("rules.summary.or", " or ", "，或者 "),
    ("rules.condition2", "And optionally", "可选的第二个条件"),
    (
        "rules.condition2.hint",
        "Leave the value empty for a one-condition filter. For sizes, enter 500K or 2M as the value.",
        "只需一个条件时请将值留空。按大小过滤时，值填写 500K 或 2M 等。",
    ),
    ("rules.match", "Combine", "组合方式"),
    (
        "rules.match.all",
        "Both conditions must hold",
        "两个条件都满足",
    ),
    (
        "rules.match.any",
        "Either condition is enough",
        "满足任一条件即可",
    ),
    (
        "rules.intro",
        "Filters sort mail on the mail server as it arrives, even while you are not logged in. They run in order, top to bottom.",
        "过滤规则在邮件到达时由邮件服务器执行，即使您未登录也会生效。规则按从上到下的顺序执行。",
    ),
    ("rules.list", "Your filters", "您的过滤规则"),
    ("rules.empty", "No filters yet.", "还没有过滤规则。"),
    ("rules.disabled", "off", "已停用"),
    ("rules.enable", "Turn on", "启用"),
    ("rules.disable", "Turn off", "停用"),
    ("rules.up", "Move up", "上移"),
    ("rules.down", "Move down", "下移"),
    ("rules.delete", "Delete", "删除"),
    ("rules.add", "New filter", "新建过滤规则"),
    ("rules.add.submit", "Add filter", "添加过滤规则"),
    ("rules.name", "Name (optional)", "名称（可选）"),
    ("rules.condition", "When", "条件"),
    ("rules.field", "Field", "字段"),
    ("rules.field.from", "From", "发件人"),
    ("rules.field.to", "To or Cc", "收件人或抄送"),
    ("rules.field.subject", "Subject", "主题"),
    ("rules.field.header", "Another header", "其他邮件头"),
    (
        "rules.header",
        "Header name (for “another header”)",
        "邮件头名称（用于“其他邮件头”）",
    ),
    ("rules.op", "Comparison", "比较方式"),
    ("rules.op.contains", "contains", "包含"),
    ("rules.op.is", "is", "等于"),
    ("rules.op.matches", "matches (* and ?)", "匹配（* 和 ?）"),
    ("rules.value", "Value", "值"),
    ("rules.action", "Then", "操作"),
    ("rules.action.move", "Move to folder", "移动到文件夹"),
    ("rules.action.copy", "Copy to folder", "复制到文件夹"),
    ("rules.action.read", "Mark as read", "标记为已读"),
    ("rules.action.flag", "Flag", "加星标"),
    ("rules.action.label", "Add label", "添加标签"),
    ("rules.action.forward", "Forward to", "转发到"),
    ("rules.action.discard", "Delete for good", "永久删除"),
    ("rules.action.stop", "Stop", "停止处理后续规则"),
    (
        "rules.target",
        "Folder, address or label",
        "文件夹、地址或标签",
    ),
    (
        "rules.target.hint",
        "A folder for move and copy, an address for forward, a word for a label.",
        "移动和复制填写文件夹，转发填写地址，标签填写一个词。",
    ),
    (
        "rules.keep",
        "Keep a copy when forwarding",
        "转发时保留副本",
    ),
    (
        "rules.stop",
        "Do not apply later filters to matching mail",
        "匹配的邮件不再应用后续规则",
    ),
    ("rules.summary.move", "Move to {0}", "移动到 {0}"),
    ("rules.summary.copy", "Copy to {0}", "复制到 {0}"),
    ("rules.summary.label", "Label {0}", "标签 {0}"),
    ("rules.summary.forward", "Forward to {0}", "转发到 {0}"),
    (
        "rules.summary.forward_keep",
        "Forward to {0} and keep a copy",
        "转发到 {0} 并保留副本",
    ),
    (
        "rules.saved",
        "Saved on the mail server.",
        "已保存到邮件服务器。",
    ),
    (
        "rules.saved_inactive",
        "Saved, but not active: another script is active on the server.",
        "已保存，但未生效：服务器上另一个脚本正在生效。",
    ),
    (
        "rules.advanced",
        "Advanced: edit the Sieve script",
        "高级：编辑 Sieve 脚本",
    ),
    (
        "rules.status.foreign",
        "Your mail-rule script was changed outside these forms, so Mailroom will not change it here. Edit it as a script instead:",
        "您的邮件规则脚本已在这些表单之外被修改，Mailroom 不会在此更改它。请以脚本方式编辑：",
    ),
    (
        "rules.status.other_active",
        "The script “{0}” is active on the mail server, so the rules on these pages do not run. Replacing it turns “{0}” off (it is kept on the server).",
        "邮件服务器上正在生效的是脚本“{0}”，因此这些页面中的规则不会执行。替换后“{0}”将停用（仍保留在服务器上）。",
    ),
    ("rules.status.show_other", "Show that script", "查看该脚本"),
    (
        "rules.status.replace",
        "Use Mailroom’s rules instead of “{0}”",
        "用 Mailroom 的规则替换“{0}”",
    ),
    (
        "rules.status.inactive",
        "Your Mailroom rules are saved but not active.",
        "您的 Mailroom 规则已保存，但未生效。",
    ),
    ("rules.status.activate", "Activate them", "启用这些规则"),
    (
        "rules.error.field",
        "Choose what to look at.",
        "请选择要检查的字段。",
    ),
    (
        "rules.error.header",
        "Enter a header name, such as X-Priority (no spaces or colons).",
        "请输入邮件头名称，例如 X-Priority（不能含空格或冒号）。",
    ),
    (
        "rules.error.op",
        "Choose how to compare.",
        "请选择比较方式。",
    ),
    (
        "rules.error.value_empty",
        "Enter what to look for.",
        "请输入要查找的内容。",
    ),
    (
        "rules.error.value",
        "The value is too long or has line breaks.",
        "该值过长或包含换行。",
    ),
    (
        "rules.error.name",
        "The name is too long or has line breaks.",
        "名称过长或包含换行。",
    ),
    (
        "rules.error.folder",
        "Choose one of your folders.",
        "请选择您的一个文件夹。",
    ),
    (
        "rules.error.label",
        "A label is one word without spaces, quotes or brackets.",
        "标签须为一个词，不能含空格、引号或括号。",
    ),
    (
        "rules.error.address",
        "Enter a valid address, such as name@example.com.",
        "请输入有效地址，例如 name@example.com。",
    ),
    (
        "rules.error.forward_self",
        "Mail cannot be forwarded to your own address.",
        "不能将邮件转发到您自己的地址。",
    ),
    (
        "rules.error.action",
        "Choose what to do.",
        "请选择要执行的操作。",
    ),
    (
        "rules.error.foreign",
        "Your mail-rule script was changed outside Mailroom; nothing was saved. Use the advanced editor to change it.",
        "您的邮件规则脚本已在 Mailroom 之外被修改，未保存任何内容。请使用高级编辑器修改。",
    ),
    (
        "rules.error.too_many",
        "You have too many filters. Delete some first.",
        "过滤规则过多，请先删除一些。",
    ),
    (
        "rules.error.server",
        "The mail server refused the rules: {0}",
        "邮件服务器拒绝了这些规则：{0}",
    ),
    ("vacation.title", "Vacation reply", "自动回复"),
    (
        "vacation.intro",
        "While you are away, the mail server answers each sender once per interval. Mailing lists and bulk mail get no answer.",
        "您不在时，邮件服务器会在每个间隔内对每位发件人回复一次。邮件列表和群发邮件不会收到回复。",
    ),
    ("vacation.enabled", "Send a vacation reply", "发送自动回复"),
    ("vacation.subject", "Subject", "主题"),
    ("vacation.body", "Message", "内容"),
    ("vacation.start", "First day (optional)", "开始日期（可选）"),
    ("vacation.end", "Last day (optional)", "结束日期（可选）"),
    (
        "vacation.days",
        "Answer each sender at most once every … days",
        "每位发件人最多每隔几天回复一次",
    ),
    (
        "vacation.addresses",
        "Mail to your other addresses is answered too:",
        "发往您其他地址的邮件也会回复：",
    ),
    (
        "vacation.lists",
        "Never sent to mailing lists (List-Id) or bulk mail (Precedence: bulk).",
        "绝不回复邮件列表（List-Id）或群发邮件（Precedence: bulk）。",
    ),
    ("vacation.save", "Save", "保存"),
    (
        "vacation.error.subject",
        "The subject is too long or has line breaks.",
        "主题过长或包含换行。",
    ),
    (
        "vacation.error.body_empty",
        "Write the message to send.",
        "请填写回复内容。",
    ),
    (
        "vacation.error.body_long",
        "The message is too long.",
        "回复内容过长。",
    ),
    (
        "vacation.error.date",
        "Enter dates as YYYY-MM-DD.",
        "请按 YYYY-MM-DD 格式输入日期。",
    ),
    (
        "vacation.error.order",
        "The last day is before the first day.",
        "结束日期早于开始日期。",
    ),
    (
        "vacation.error.days",
        "Enter a number of days from 1 to 60.",
        "请输入 1 到 60 之间的天数。",
    ),
    ("forwarding.title", "Forwarding", "转发"),
    (
        "forwarding.intro",
        "The mail server forwards all your incoming mail to these addresses.",
        "邮件服务器会将您收到的所有邮件转发到这些地址。",
    ),
    (
        "forwarding.enabled",
        "Forward all incoming mail",
        "转发所有收到的邮件",
    ),
    (
        "forwarding.addresses",
        "To (one or more addresses, separated by commas)",
        "转发到（一个或多个地址，用逗号分隔）",
    ),
    (
        "forwarding.keep",
        "Keep a copy in this mailbox",
        "在此邮箱中保留副本",
    ),
    ("forwarding.save", "Save", "保存"),
    (
        "forwarding.error.address",
        "One of the addresses is not valid, such as name@example.com.",
        "其中有地址无效，正确格式如 name@example.com。",
    ),
    (
        "forwarding.error.empty",
        "Enter at least one address to forward to.",
        "请至少输入一个转发地址。",
    ),
    (
        "forwarding.error.too_many",
        "At most 10 forwarding addresses.",
        "最多 10 个转发地址。",
    ),
    ("advanced.title", "Sieve script", "Sieve 脚本"),
    (
        "advanced.intro",
        "Mailroom keeps your rules in the script “mailroom” on the mail server. Edit it here in the Sieve language (RFC 5228); the server checks it before saving. After a hand edit, the other rule pages only show it.",
        "Mailroom 将您的规则保存在邮件服务器上名为“mailroom”的脚本中。您可以在此用 Sieve 语言（RFC 5228）编辑，服务器会在保存前检查。手动编辑后，其他规则页面只显示而不再修改它。",
    ),
    (
        "advanced.scripts",
        "Scripts on the server:",
        "服务器上的脚本：",
    ),
    ("advanced.active", "active", "生效中"),
    (
        "advanced.errors",
        "The mail server found errors; nothing was saved:",
        "邮件服务器发现错误，未保存任何内容：",
    ),
    ("advanced.script", "Script", "脚本"),
    ("advanced.save", "Check and save", "检查并保存"),
    (
        "advanced.error.too_long",
        "The script is too long.",
        "脚本过长。",
    ),
    (
        "settings.rules.hint",
        "Sort incoming mail into folders, flag or forward it.",
        "将收到的邮件分类到文件夹、加星标或转发。",
    ),
    (
        "settings.vacation.hint",
        "Answer automatically while you are away.",
        "不在时自动回复。",
    ),
    (
        "settings.forwarding.hint",
        "Send all incoming mail on to another address.",
        "将所有收到的邮件转发到其他地址。",
    ),
    (
        "settings.rules.unavailable",
        "Mail rules (filters, vacation reply, forwarding) are not available: this mail server offers no ManageSieve.",
        "邮件规则（过滤、自动回复、转发）不可用：此邮件服务器未提供 ManageSieve。",
    ),
    // Send later and undo send (src/send/outbox.rs, src/web/outbox.rs)
    ("notice.queued", "Sending in a few seconds.", "几秒后发送。"),
    ("outbox.undo", "Undo", "撤销"),
    ("outbox.title", "Outbox", "发件箱"),
    (
        "outbox.intro",
        "Messages waiting for their send time. Edit puts a message back in Drafts and opens it.",
        "等待定时发送的邮件。“编辑”会将邮件放回草稿箱并打开。",
    ),
    ("outbox.zone", "Times are in", "时间所在时区："),
    (
        "outbox.empty",
        "Nothing is waiting to be sent.",
        "没有等待发送的邮件。",
    ),
    ("outbox.when", "Sends at", "发送时间"),
    ("outbox.to", "To", "收件人"),
    ("outbox.send_now", "Send now", "立即发送"),
    ("outbox.edit", "Edit", "编辑"),
    ("outbox.dismiss", "Dismiss", "忽略"),
    (
        "outbox.failed",
        "Could not be sent; it is in Drafts. Reason:",
        "无法发送，已存入草稿箱。原因：",
    ),
    (
        "outbox.notice.scheduled",
        "Scheduled. It goes out at the time shown, even with Mailroom closed.",
        "已定时。即使关闭 Mailroom，也会在所示时间发出。",
    ),
    ("outbox.notice.sending", "Sending now.", "正在发送。"),
    (
        "outbox.notice.gone",
        "Too late: that message has been sent (or is being sent).",
        "太晚了：该邮件已发送（或正在发送）。",
    ),
    (
        "outbox.notice.full",
        "The outbox is full. Send or cancel some waiting messages first.",
        "发件箱已满。请先发送或取消一些等待中的邮件。",
    ),
    (
        "outbox.notice.dismissed",
        "Removed from the outbox.",
        "已从发件箱移除。",
    ),
    (
        "outbox.error.invalid",
        "The send time is not a date and time.",
        "发送时间不是有效的日期和时间。",
    ),
    (
        "outbox.error.past",
        "The send time has passed.",
        "发送时间已过。",
    ),
    (
        "outbox.error.too_far",
        "A message can be scheduled at most a year ahead.",
        "邮件最多只能提前一年定时。",
    ),
    ("compose.send_at", "Send later", "定时发送"),
    (
        "compose.send_at.hint",
        "Leave empty to send now. Your time zone is used.",
        "留空则立即发送。按您的时区计算。",
    ),
    ("settings.undo_send", "Undo send", "撤销发送"),
    (
        "settings.undo_send.label",
        "Seconds to undo a message after Send (0 to send at once)",
        "点击发送后可撤销的秒数（0 表示立即发送）",
    ),
    (
        "settings.undo_send.invalid",
        "Choose a number of seconds from 0 to 60.",
        "请选择 0 到 60 之间的秒数。",
    ),
    ("nav.outbox", "Outbox", "发件箱"),
    // Live updates (src/live.rs, GET /events, static/app.js)
    ("live.new_mail", "New mail", "新邮件"),
    ("live.notify.title", "Desktop notifications", "桌面通知"),
    (
        "live.notify.label",
        "Tell me about new mail in the inbox while Mailroom is in the background",
        "Mailroom 在后台时，收件箱有新邮件就通知我",
    ),
    (
        "live.notify.hint",
        "Kept in this browser only. Open pages update by themselves either way.",
        "仅保存在此浏览器中。无论是否开启，已打开的页面都会自动更新。",
    ),
    // Other mailboxes (issue 14): /settings/accounts
    ("accounts.title", "Other mailboxes", "其他邮箱"),
    ("accounts.back", "Settings", "设置"),
    (
        "settings.accounts.hint",
        "Fetch mail from your POP3 or IMAP accounts elsewhere.",
        "从您在其他地方的 POP3 或 IMAP 账户收取邮件。",
    ),
    (
        "accounts.intro",
        "Mailroom copies new mail from these accounts into the folder you choose. It fetches while you use Mailroom (every {0} minutes at most), and when you press Fetch now: not while you are away, because only your logged-in browser can open your mailbox.",
        "Mailroom 会把这些账户中的新邮件复制到您选择的文件夹。它在您使用 Mailroom 时收取（最多每 {0} 分钟一次），以及在您点击“立即收取”时收取；您不在时不会收取，因为只有您已登录的浏览器才能打开您的邮箱。",
    ),
    ("accounts.list", "Your other mailboxes", "您的其他邮箱"),
    (
        "accounts.empty",
        "No other mailboxes yet.",
        "还没有其他邮箱。",
    ),
    ("accounts.into", "Into", "收入"),
    ("accounts.keep.yes", "left on the server", "保留在服务器上"),
    (
        "accounts.keep.no",
        "deleted from the server once fetched",
        "收取后从服务器删除",
    ),
    ("accounts.last", "Last fetched:", "上次收取："),
    ("accounts.never", "never", "从未"),
    ("accounts.last_count", "{0} new", "{0} 封新邮件"),
    ("accounts.fetch_now", "Fetch now", "立即收取"),
    ("accounts.remove", "Remove", "删除"),
    ("accounts.add", "Add a mailbox", "添加邮箱"),
    ("accounts.add.submit", "Add", "添加"),
    ("accounts.protocol", "Protocol", "协议"),
    ("accounts.host", "Server", "服务器"),
    ("accounts.security", "Security", "安全"),
    ("accounts.security.tls", "TLS (recommended)", "TLS（推荐）"),
    ("accounts.security.starttls", "STARTTLS", "STARTTLS"),
    (
        "accounts.security.none",
        "None (tests only)",
        "无（仅用于测试）",
    ),
    ("accounts.port", "Port", "端口"),
    ("accounts.port.default", "usual port", "默认端口"),
    ("accounts.login", "Username", "用户名"),
    ("accounts.password", "Password", "密码"),
    ("accounts.folder", "Put mail into", "邮件放入"),
    (
        "accounts.keep",
        "Leave a copy on the server",
        "在服务器上保留副本",
    ),
    (
        "accounts.added",
        "Mailbox added. Press Fetch now to fetch its mail.",
        "邮箱已添加。点击“立即收取”收取邮件。",
    ),
    (
        "accounts.removed",
        "Mailbox removed. Mail already fetched stays.",
        "邮箱已删除。已收取的邮件仍然保留。",
    ),
    (
        "accounts.fetched",
        "New messages fetched: {0}.",
        "收取了 {0} 封新邮件。",
    ),
    (
        "accounts.busy",
        "This mailbox is being fetched right now; try again in a moment.",
        "此邮箱正在收取中，请稍后再试。",
    ),
    (
        "accounts.failed",
        "The fetch failed; the reason is shown below.",
        "收取失败，原因见下方。",
    ),
    (
        "accounts.error.protocol",
        "Choose POP3 or IMAP.",
        "请选择 POP3 或 IMAP。",
    ),
    (
        "accounts.error.security",
        "Choose how the connection is secured.",
        "请选择连接的安全方式。",
    ),
    (
        "accounts.error.host",
        "Enter a server name, like pop.example.com.",
        "请输入服务器名称，例如 pop.example.com。",
    ),
    (
        "accounts.error.port",
        "Enter a port number from 1 to 65535, or leave it empty.",
        "请输入 1 到 65535 之间的端口号，或留空。",
    ),
    (
        "accounts.error.login",
        "Enter the username of that mailbox.",
        "请输入该邮箱的用户名。",
    ),
    (
        "accounts.error.password_field",
        "Enter the password of that mailbox.",
        "请输入该邮箱的密码。",
    ),
    (
        "accounts.error.folder",
        "Choose one of your folders.",
        "请选择您的一个文件夹。",
    ),
    (
        "accounts.error.folder_gone",
        "The folder for this mailbox's mail no longer exists: remove the mailbox and add it again with another folder.",
        "存放此邮箱邮件的文件夹已不存在：请删除该邮箱，并选择其他文件夹重新添加。",
    ),
    (
        "accounts.error.too_many",
        "You have as many other mailboxes as allowed (10).",
        "您的其他邮箱数量已达上限（10 个）。",
    ),
    (
        "accounts.error.address",
        "Mailroom may not connect to this address (a local or private network).",
        "Mailroom 不能连接到此地址（本地或内部网络）。",
    ),
    (
        "accounts.error.plaintext",
        "A connection without encryption is not allowed: choose TLS or STARTTLS.",
        "不允许未加密的连接：请选择 TLS 或 STARTTLS。",
    ),
    (
        "accounts.error.unreachable",
        "The server could not be reached.",
        "无法连接到服务器。",
    ),
    (
        "accounts.error.auth",
        "The server refused the username or password.",
        "服务器拒绝了用户名或密码。",
    ),
    (
        "accounts.error.remote",
        "The server answered with an error.",
        "服务器返回了错误。",
    ),
    (
        "accounts.error.local",
        "Your own mailbox could not take the mail; it will be tried again.",
        "您自己的邮箱无法接收邮件，稍后将重试。",
    ),
    (
        "accounts.error.password",
        "The saved password can no longer be read (the server's key changed): remove the mailbox and add it again.",
        "无法读取已保存的密码（服务器密钥已更改）：请删除该邮箱并重新添加。",
    ),
    (
        "accounts.error.timeout",
        "The fetch took too long; it continues next time.",
        "收取耗时过长，下次将继续。",
    ),
    (
        "accounts.error.oversize",
        "{0} messages were too large (over 25 MB) and were left on the server.",
        "{0} 封邮件过大（超过 25 MB），已留在服务器上。",
    ),
    // Two-factor login (issue 14 item 4): the code step of the login and /settings/2fa.
    ("twofactor.title", "Two-factor login", "两步验证登录"),
    (
        "twofactor.hint",
        "Ask for a code from an authenticator app after the password.",
        "输入密码后再要求输入身份验证器应用中的验证码。",
    ),
    ("twofactor.code.title", "Enter your code", "输入验证码"),
    ("twofactor.code.as", "Signing in as", "正在登录："),
    ("twofactor.code.label", "Code", "验证码"),
    (
        "twofactor.code.hint",
        "The six digits your authenticator app shows, or one of your recovery codes.",
        "身份验证器应用显示的六位数字，或您的一个恢复码。",
    ),
    (
        "twofactor.remember",
        "Don’t ask again in this browser for 30 days",
        "30 天内在此浏览器上不再询问",
    ),
    ("twofactor.code.submit", "Verify", "验证"),
    ("twofactor.code.cancel", "Start again", "重新登录"),
    (
        "twofactor.wrong",
        "That code is not right, or was already used.",
        "验证码不正确或已被使用。",
    ),
    (
        "twofactor.expired",
        "The sign-in took too long. Please enter your password again.",
        "登录超时，请重新输入密码。",
    ),
    (
        "twofactor.state.off",
        "Two-factor login is off.",
        "两步验证登录已关闭。",
    ),
    (
        "twofactor.state.on",
        "Two-factor login is on: signing in needs your password and a code.",
        "两步验证登录已开启：登录需要密码和验证码。",
    ),
    (
        "twofactor.intro",
        "With it on, signing in also asks for a code from an authenticator app on your phone, so a stolen password alone is not enough.",
        "开启后，登录时还需要输入手机上身份验证器应用中的验证码，仅凭被盗的密码无法登录。",
    ),
    (
        "twofactor.start",
        "Set up two-factor login",
        "设置两步验证登录",
    ),
    (
        "twofactor.setup.title",
        "Add Mailroom to your app",
        "将 Mailroom 添加到您的应用",
    ),
    (
        "twofactor.setup.scan",
        "Scan this QR code with your authenticator app.",
        "用身份验证器应用扫描此二维码。",
    ),
    (
        "twofactor.setup.qr_alt",
        "QR code for your authenticator app",
        "用于身份验证器应用的二维码",
    ),
    (
        "twofactor.setup.manual",
        "Or enter this key by hand:",
        "或手动输入此密钥：",
    ),
    (
        "twofactor.setup.code",
        "Code shown by the app",
        "应用显示的验证码",
    ),
    ("twofactor.enable", "Turn on", "开启"),
    ("twofactor.cancel", "Cancel setup", "取消设置"),
    (
        "twofactor.enabled",
        "Two-factor login is on.",
        "两步验证登录已开启。",
    ),
    (
        "twofactor.disabled",
        "Two-factor login is off.",
        "两步验证登录已关闭。",
    ),
    ("twofactor.cancelled", "Setup cancelled.", "已取消设置。"),
    (
        "twofactor.recovery.title",
        "Your recovery codes",
        "您的恢复码",
    ),
    (
        "twofactor.recovery.once",
        "Keep these somewhere safe. Each works once, instead of a code, if you lose your phone. They are shown only now.",
        "请妥善保存。丢失手机时，每个恢复码可代替验证码使用一次。它们只显示这一次。",
    ),
    (
        "twofactor.recovery.left",
        "Recovery codes left: {0}",
        "剩余恢复码：{0}",
    ),
    (
        "twofactor.disable.title",
        "Turn off two-factor login",
        "关闭两步验证登录",
    ),
    (
        "twofactor.disable.code",
        "A current code or a recovery code",
        "当前验证码或恢复码",
    ),
    ("twofactor.disable", "Turn off", "关闭"),
    // Labels (IMAP keywords): chips, the action bar's picker, /labels, notices.
    ("action.label_add", "Add label", "添加标签"),
    ("action.label_remove", "Remove label", "移除标签"),
    ("action.label_name", "Label", "标签"),
    ("notice.done.label", "Labelled: {0}", "已添加标签：{0} 封"),
    (
        "notice.done.unlabel",
        "Label removed: {0}",
        "已移除标签：{0} 封",
    ),
    (
        "notice.label_invalid",
        "Choose a label: a name of at most 64 characters, not starting with \\.",
        "请选择标签：名称最多 64 个字符，且不能以 \\ 开头。",
    ),
    (
        "notice.labels_not_stored",
        "This folder cannot keep labels: the mail server does not store new keywords here.",
        "此文件夹无法保存标签：邮件服务器不允许在这里保存新的关键字。",
    ),
    ("labels.title", "Labels", "标签"),
    (
        "labels.intro",
        "Labels are kept on the mail server as keywords, so other mail programs see them too. Colours are kept here.",
        "标签作为关键字保存在邮件服务器上，其他邮件程序也能看到。颜色保存在本站。",
    ),
    ("labels.list", "Your labels", "你的标签"),
    ("labels.empty", "No labels yet.", "还没有标签。"),
    ("labels.create", "New label", "新建标签"),
    ("labels.create.submit", "Create label", "创建标签"),
    ("labels.name", "Name", "名称"),
    ("labels.colour", "Colour", "颜色"),
    ("labels.save_colour", "Save colour", "保存颜色"),
    ("labels.new_name", "New name", "新名称"),
    ("labels.rename", "Rename", "重命名"),
    ("labels.delete", "Delete", "删除"),
    ("labels.remove", "Remove label", "移除标签"),
    ("labels.manage", "Manage labels", "管理标签"),
    ("labels.on_message", "Labels", "标签"),
    ("labels.filter", "Label", "标签"),
    ("labels.colour.grey", "Grey", "灰色"),
    ("labels.colour.red", "Red", "红色"),
    ("labels.colour.orange", "Orange", "橙色"),
    ("labels.colour.yellow", "Yellow", "黄色"),
    ("labels.colour.green", "Green", "绿色"),
    ("labels.colour.teal", "Teal", "青色"),
    ("labels.colour.blue", "Blue", "蓝色"),
    ("labels.colour.purple", "Purple", "紫色"),
    ("labels.done.created", "Label created.", "标签已创建。"),
    ("labels.done.coloured", "Colour saved.", "颜色已保存。"),
    (
        "labels.done.renamed",
        "Label renamed on {0} messages in {1} folders.",
        "已在 {1} 个文件夹中的 {0} 封邮件上重命名标签。",
    ),
    (
        "labels.done.deleted",
        "Label deleted: removed from {0} messages in {1} folders.",
        "标签已删除：已从 {1} 个文件夹中的 {0} 封邮件上移除。",
    ),
    (
        "labels.done.refused",
        "Not renamed everywhere: {0} folders cannot keep the new label, so the old one stays there.",
        "未能全部重命名：有 {0} 个文件夹无法保存新标签，旧标签保留在那里。",
    ),
    (
        "labels.error.empty",
        "Enter a label name.",
        "请输入标签名称。",
    ),
    (
        "labels.error.too_long",
        "The label name is too long (at most 64 characters).",
        "标签名称过长（最多 64 个字符）。",
    ),
    (
        "labels.error.system",
        "A label name cannot start with \\ (those are system flags).",
        "标签名称不能以 \\ 开头（那是系统标记）。",
    ),
    (
        "labels.error.control",
        "A label name cannot contain line breaks or other control characters.",
        "标签名称不能包含换行或其他控制字符。",
    ),
    (
        "labels.error.reserved",
        "That name is reserved by mail programs; choose another.",
        "该名称已被邮件程序保留，请换一个。",
    ),
    ("labels.error.unknown", "Unknown label.", "未知标签。"),
    (
        "labels.error.action",
        "Unknown label action.",
        "未知的标签操作。",
    ),
    // Drafts open in the editor (issue 13 item 3).
    ("msg.edit_draft", "Edit draft", "编辑草稿"),
    // Time zones (issue 13 item 2): relative list dates, the /settings time-zone form.
    ("date.yesterday", "Yesterday", "昨天"),
    (
        "date.weekdays",
        "Mon Tue Wed Thu Fri Sat Sun",
        "周一 周二 周三 周四 周五 周六 周日",
    ),
    ("settings.timezone", "Time zone", "时区"),
    (
        "settings.timezone.in_use",
        "Dates are shown in:",
        "日期显示所用时区：",
    ),
    ("settings.timezone.default", "default", "默认"),
    (
        "settings.timezone.label",
        "Time zone (IANA name)",
        "时区（IANA 名称）",
    ),
    (
        "settings.timezone.hint",
        "For example Europe/Paris or Asia/Shanghai. Leave empty to use the default.",
        "例如 Europe/Paris 或 Asia/Shanghai。留空则使用默认时区。",
    ),
    ("settings.timezone.save", "Save time zone", "保存时区"),
    (
        "settings.timezone.invalid",
        "This is not a known time zone name. Pick one from the list, like Europe/Paris.",
        "这不是已知的时区名称。请从列表中选择，例如 Europe/Paris。",
    ),
    // Appearance, print view and accessibility (issue 13, items 5 and 8: web::theme,
    // message::print, the skip link).
    ("a11y.skip", "Skip to main content", "跳到主要内容"),
    ("settings.theme", "Appearance", "外观"),
    ("settings.theme.intro", "Colour theme", "颜色主题"),
    ("settings.theme.auto", "Same as the system", "跟随系统"),
    ("settings.theme.light", "Light", "浅色"),
    ("settings.theme.dark", "Dark", "深色"),
    ("settings.theme.save", "Save appearance", "保存外观"),
    (
        "settings.error.theme",
        "Choose one of the offered themes.",
        "请选择所提供的主题之一。",
    ),
    ("msg.print", "Print", "打印"),
    (
        "print.hint",
        "Use your browser's Print command to print this message.",
        "请使用浏览器的“打印”命令打印此邮件。",
    ),
    ("print.back", "Back to the message", "返回邮件"),
    // Compose: the forwarded message in the editor, and rich text (issue 13 item 7).
    (
        "compose.forward_inline_note",
        "“{0}” is in the text above, where you can change it before sending.",
        "“{0}”已放在上方正文中，发送前可以修改。",
    ),
    (
        "compose.forward_inline_files",
        "Its attachments go along: {0}.",
        "其附件将一并发送：{0}。",
    ),
    (
        "compose.forward_attachment_note",
        "“{0}” goes along whole, attached as {1}. Delete its text above if it should not be there twice.",
        "“{0}”将作为附件 {1} 完整附上。如不希望内容重复，请删除上方正文中的转发内容。",
    ),
    ("compose.rich.toolbar", "Formatting", "格式"),
    ("compose.rich.bold", "Bold", "粗体"),
    ("compose.rich.italic", "Italic", "斜体"),
    ("compose.rich.bullets", "Bulleted list", "项目符号列表"),
    ("compose.rich.numbers", "Numbered list", "编号列表"),
    ("compose.rich.link", "Link", "链接"),
    (
        "compose.rich.link_prompt",
        "Link address (https://… or mailto:…)",
        "链接地址（https://… 或 mailto:…）",
    ),
    ("compose.rich.quote", "Quote", "引用"),
    ("compose.rich.to_plain", "Plain text", "纯文本"),
    ("compose.rich.to_rich", "Formatted text", "格式文本"),
    (
        "compose.error.html_too_large",
        "The formatted text is too large to send (at most {0}). Its plain text is kept below; shorten it and send again.",
        "格式文本过大，无法发送（最多 {0}）。下方保留了其纯文本，请缩短后重新发送。",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_say_one_and_group_thousands() {
        let (en, zh) = (Tr(Lang::En), Tr(Lang::ZhHans));
        assert_eq!(en.count("list.messages", 1), "1 message");
        assert_eq!(en.count("list.messages", 0), "0 messages");
        assert_eq!(en.count("list.messages", 10_000), "10,000 messages");
        assert_eq!(zh.count("list.messages", 1), "1 封邮件");
        assert_eq!(zh.count("list.messages", 1_234_567), "1,234,567 封邮件");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

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
