# Mailroom: English. Fluent syntax (https://projectfluent.org/).
# Message ids are the code's keys with "-" for ".": `tr.t("login.title")` reads `login-title`.
# Placeables are named (`{ $count }`); keep their names when translating. Every id
# must be in every language: a test (`i18n::tests`) checks ids and variable names.

app-name = Mailroom

## Login
login-title = Sign in
login-username = Email address
login-password = Password
login-submit = Sign in
login-failed = Wrong address or password
login-missing = Enter your address and password
login-language = Language
login-expired = Your session has ended. Please sign in again.
logout = Sign out

## Top bar links (contacts and settings)
nav-contacts = Contacts
nav-settings = Settings

## Address validation (src/mime/address.rs); {0} is the entry as typed
address-error-control = “{ $entry }” contains a line break or another control character.
address-error-unbalanced = “{ $entry }” has an unclosed quote or angle bracket.
address-error-missing = Enter an email address.
address-error-missing_at = “{ $entry }” is not an email address (it has no @).
address-error-empty_local = “{ $entry }” has nothing before the @.
address-error-empty_domain = “{ $entry }” has no domain after the @.
address-error-space = “{ $entry }” contains a space; separate addresses with commas.
address-error-local = The part before the @ in “{ $entry }” is not valid.
address-error-domain = The domain in “{ $entry }” is not valid.
address-error-trailing = “{ $entry }” has text after the closing >.
address-error-too_long = The address or the list of addresses is too long.
address-error-not_single = Enter only one address here.
form-error-name = A name is at most 200 characters, without line breaks or control characters.

## Contacts page
contacts-title = Contacts
contacts-count =
    { $count ->
        [one] { $count } contact
       *[other] { $count } contacts
    }
contacts-empty = No contacts yet. People you write to are added automatically.
contacts-name = Name
contacts-email = Email address
contacts-actions = Actions
contacts-add = Add a contact
contacts-add-submit = Add
contacts-edit = Edit
contacts-save = Save
contacts-cancel = Cancel
contacts-delete = Delete
contacts-collected = added from sent mail
contacts-search = Search contacts
contacts-search-submit = Search
contacts-search-clear = Show all
contacts-no_match = No contacts match “{ $query }”.
contacts-saved = Contact saved.
contacts-deleted = Contact deleted.
contacts-error-duplicate = Another contact already has this address.
contacts-error-full = Your address book is full ({ $max } contacts).
contacts-import = Import a vCard file
contacts-import-file = vCard file (.vcf)
contacts-import-submit = Import
contacts-import-done =
    Imported { $imported ->
        [one] { $imported } contact
       *[other] { $imported } contacts
    }; skipped { $skipped }.
contacts-import-none = Choose a vCard file to import.
contacts-import-too_large = The file is too large (at most { $max }).
contacts-import-not_vcard = This is not a vCard (.vcf) file.
contacts-export = Export all as vCard

## Settings page
settings-title = Settings
settings-saved = Settings saved.
settings-removed = Address removed.
settings-identities = Identities
settings-identities-intro = The name and signature people see when you write. You can add more From addresses if your mail server lets you send from them.
settings-identity-email = From address
settings-identity-name = Display name
settings-identity-signature = Signature
settings-identity-signature_hint = Plain text, added below your messages.
settings-identity-default = Use by default
settings-identity-is_default = Default
settings-identity-login = your sign-in address
settings-identity-save = Save
settings-identity-delete = Remove
settings-identity-add = Add another From address
settings-identity-add-submit = Add address
settings-identity-server_may_refuse = Your mail server decides which From addresses you may use. If it does not allow { $address } for your account, it will refuse messages sent from it.
settings-identity-other_address = Your mail server decides which From addresses you may use: it may refuse messages from an address other than your sign-in address.
settings-error-duplicate = You already have an identity with this address.
settings-error-signature = The signature is at most { $max } characters, without control characters.
settings-error-too_many = You can have at most { $max } identities.
settings-language = Language
settings-language-intro = The language of Mailroom's pages in this browser.
settings-language-save = Save language
settings-error-language = That language is not available.
settings-more = More settings
settings-remote = Trusted senders for remote content
settings-remote-hint = Senders whose images and other remote content load without asking.
settings-folders = Folders
settings-folders-hint = Create, rename and delete folders; choose which ones to show.

## Folders
folders = Folders
drawer-open = Folders and menu
drawer-close = Close
folder-inbox = Inbox
folder-drafts = Drafts
folder-sent = Sent
folder-trash = Trash
folder-junk = Junk
folder-archive = Archive
folder-unread = { $count } unread

## Message list
list-empty = No messages in this folder.
list-from = From
list-subject = Subject
list-date = Date
list-size = Size
list-sort = Sort by
list-sort-date = Newest first
list-sort-date_asc = Oldest first
list-sort-from = Sender
list-sort-subject = Subject
list-sort-size = Largest first
list-sort-apply = Sort
list-unread = Unread
list-flagged = Flagged
list-answered = Answered
list-attachment = Has attachments
list-no_subject = (no subject)
list-messages =
    { $count ->
        [one] { $count } message
       *[other] { $count } messages
    }
list-select = Select
list-select_all = Select all
list-folder = Folder

## Organizing mail: message actions (web/actions.rs)
action-label = Action
action-target = Folder
action-apply = Apply to selected
action-apply_page = Apply to all on this page
action-read = Mark as read
action-unread = Mark as unread
action-flag = Flag
action-unflag = Remove flag
action-move = Move
action-copy = Copy
action-archive = Archive
action-spam = Spam
action-notspam = Not spam
action-delete = Delete
action-delete_forever = Delete for good
action-empty = Empty this folder
notice-done-read = Marked as read: { $count }
notice-done-unread = Marked as unread: { $count }
notice-sent = Message sent
notice-done-flag = Flagged: { $count }
notice-done-unflag = Flag removed: { $count }
notice-done-move = Moved: { $count }
notice-done-copy = Copied: { $count }
notice-done-archive = Archived: { $count }
notice-done-spam = Moved to Junk: { $count }
notice-done-notspam = Moved back to the inbox: { $count }
notice-done-delete = Deleted: { $count }
notice-done-undo = Moved back: { $count }
action-undo = Undo
action-more = More
notice-done-expunge = Deleted for good: { $count }
notice-emptied =
    Folder emptied: { $count ->
        [one] { $count } message
       *[other] { $count } messages
    } deleted for good
notice-stale = This folder was changed by another program, so nothing was done. The list has been reloaded; please choose again.
notice-gone = These messages had already been deleted or moved elsewhere (for example from another device). The list has been refreshed.
notice-gone_some = Done, but { $count } of the messages had already been deleted or moved elsewhere. The list has been refreshed.
notice-no_target = The target folder no longer exists. Nothing was moved; your messages are still here.
notice-same_folder = The messages are already in that folder.
notice-none_selected = Select at least one message first.
notice-choose_target = Choose a folder to move or copy to.
notice-not_permitted = Your access rights in this folder do not allow that; nothing was changed.
confirm-delete-title = Delete for good?
confirm-delete-question =
    { $count ->
        [one] Delete { $count } message for good?
       *[other] Delete { $count } messages for good?
    }
confirm-empty-title = Empty { $folder }?
confirm-empty-question =
    Delete { $count ->
        [one] the { $count } message
       *[other] all { $count } messages
    } in { $folder } for good?
confirm-cannot_undo = This cannot be undone.
confirm-cancel = Cancel
msg-newer = Newer
msg-older = Older
export-eml = Download (.eml)
export-zip = All attachments (.zip)
export-mbox = Export folder (mbox)
error-bad-action = That action is not known.
error-bad-empty = Only Trash and Junk can be emptied.

## Keyboard shortcuts (static/app.js, components/shortcuts.html)
keys-title = Keyboard shortcuts
keys-next_prev = Next / previous message
keys-open = Open the message
keys-reply = Reply
keys-reply_all = Reply all
keys-forward = Forward
keys-compose = Write a new message
keys-delete = Delete
keys-archive = Archive
keys-search = Search
keys-help = Show this list
keys-close = Close

## Folder management (web/folders.rs)
folders-manage = Manage folders
folders-title = Folders
folders-create = New folder
folders-create-submit = Create folder
folders-name = Name
folders-parent = Inside
folders-top_level = (top level)
folders-all = All folders
folders-subscribe_hint = The sidebar shows the folders you subscribe to; every folder is listed here.
folders-messages = Messages
folders-in_sidebar = Sidebar
folders-subscribe = Show in sidebar
folders-unsubscribe = Hide from sidebar
folders-settings = Settings
folders-open = Open
folders-counts =
    { $count ->
        [one] { $count } message
       *[other] { $count } messages
    }, { $unread } unread
folders-protected_hint = This is a standard folder: it cannot be renamed or deleted.
folders-rename = Rename or move
folders-rename-submit = Save
folders-delete = Delete folder
folders-delete-title = Delete folder?
folders-delete-question =
    Delete { $folder } with everything in it ({ $count ->
        [one] { $count } message
       *[other] { $count } messages
    }, including subfolders)?
folders-notice-created = Folder created.
folders-notice-renamed = Folder renamed.
folders-notice-deleted = Folder deleted.
folders-notice-subscribed = The folder is shown in the sidebar.
folders-notice-unsubscribed = The folder is hidden from the sidebar.
folders-error-empty = Enter a name.
folders-error-too_long = This name is too long. Please use a shorter one.
folders-error-delimiter = A name cannot contain "{ $delimiter }": it separates folder levels. To make a subfolder, choose its parent under "Inside".
folders-error-forbidden = A name cannot contain * or %, control characters, or be "." or "..".
folders-error-exists = A folder with this name already exists here.
folders-error-no_parent = The chosen parent folder no longer exists.
folders-error-protected = Standard folders (Inbox, Drafts, Sent, Archive, Junk, Trash) and folders containing them cannot be renamed or deleted.
folders-error-into_itself = A folder cannot be moved into itself or one of its subfolders.
folders-error-refused = The mail server refused this name. Please try another one.
error-bad-subscribed = Invalid subscription value.
page-prev = Previous
page-next = Next
page-of = Page { $page } of { $pages }
month-short = Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec
date-day_month = { $day } { $month }

## Message view
msg-from = From
msg-to = To
msg-cc = Cc
msg-reply_to = Reply-To
msg-date = Date
msg-subject = Subject
msg-attachments = Attachments
msg-download = Download
msg-remote_blocked = Remote content was blocked to protect your privacy.
msg-show_remote = Show remote content

## Hardening (issue 5): trusted senders, login throttling
msg-trust_address = Always show for { $address }
msg-trust_domain = Always show for everyone at { $domain }
msg-remote_trusted = Remote images are shown because you trust this sender.
msg-manage_trusted = Manage trusted senders

## Trusted senders need proof (issue 9): why a trusted sender's images did not load.
msg-trust_unverified-off = You trust this sender, but images are not loaded automatically: this server is not set up to check who really sent a message.
msg-trust_unverified-none = You trust this sender, but images are not loaded automatically: your mail server did not confirm that this message really comes from them.
msg-trust_unverified-failed = You trust this sender, but images are not loaded automatically: this message failed your mail server's sender check (DKIM/DMARC), so its sender may be forged.
trusted-title = Remote content
trusted-back = Settings
trusted-intro = Images and other content from the internet are blocked in messages until you allow them. Messages from the addresses and domains below show their images right away, fetched by Mailroom, so the sender never sees your IP address.
trusted-list = Trusted senders
trusted-empty = You trust no sender yet.
trusted-kind = Trust
trusted-kind-address = One address
trusted-kind-domain = A whole domain
trusted-value = Address or domain
trusted-add = Add a trusted sender
trusted-add-submit = Trust
trusted-remove = Remove
trusted-added = Saved.
trusted-removed = Removed.
trusted-error-address = Enter an email address, like news@shop.example.
trusted-error-domain = Enter a domain name, like shop.example.
trusted-error-too_many = You trust too many senders already; remove some first.
trusted-error-kind = Choose an address or a domain.
trusted-error-action = This form cannot be sent like that.
login-throttled =
    { $minutes ->
        [one] Too many attempts, try again in { $minutes } minute.
       *[other] Too many attempts, try again in { $minutes } minutes.
    }
login-throttled_one = Too many attempts, try again in 1 minute.
msg-view_source = View source
msg-back = Back to { $folder }
msg-body_frame = Message body
msg-source_title = Message source
msg-no_body = This message has no text.
msg-unknown_sender = (unknown sender)

## Compose (src/web/compose.rs, templates/pages/compose.html)
nav-compose = Write
compose-title = New message
compose-from = From
compose-to = To
compose-cc = Cc
compose-bcc = Bcc
compose-subject = Subject
compose-body = Message
compose-options = Options
compose-cc_bcc = Cc and Bcc
compose-warn-no_subject = This message has no subject. Press Send again to send it as it is.
compose-warn-no_text = This message has no text and nothing attached. Press Send again to send it as it is.
compose-priority = Priority
compose-priority-high = High
compose-priority-normal = Normal
compose-priority-low = Low
compose-request_mdn = Ask for a read receipt
compose-request_dsn = Ask for a delivery report
compose-attachments = Attachments
compose-add_files = Add files
compose-staged_hint = Untick a file to remove it.
compose-size_hint = At most { $max } in total (attachments grow by a third when sent).
compose-forward_mode = Include the original
compose-forward_inline = In the text, with its attachments
compose-forward_attachment = As an attached message
compose-forwarded = Forwarded message
compose-attribution = On { $date }, { $sender } wrote:
compose-send = Send
compose-save_draft = Save draft
compose-cancel = Cancel
compose-draft_saved = Draft saved.
compose-restored = Your session had ended; here is the message you were writing.
compose-restore_missing = The message you were writing could not be found any more.
compose-error-draft_files_gone = The draft's files could not be read any more. Please attach them again.
compose-error-park_full = Your session had ended, and the message you were writing could not be kept: too much is already waiting to be restored. Sign in and write it again.
compose-saved_after_failure = Your message was not sent, but it was saved to Drafts.
compose-error-no_recipients = Add at least one recipient.
compose-error-control = Line breaks and control characters are not allowed here.
compose-error-subject_long = The subject is too long.
compose-error-from = Choose one of your addresses.
compose-error-too_large = Not attached: { $names }. A message may be at most { $max }.
compose-error-smtp_down = The mail server could not be reached, so the message was not sent.
compose-error-smtp_auth = The mail server did not accept your login for sending.
compose-error-refused = The mail server refused the message: { $reason }
compose-error-rejected = The mail server refused these recipients: { $recipients } ({ $reason })
compose-error-draft_failed = The draft could not be saved on the mail server.

## Reply, forward and read receipts on the message page
msg-reply = Reply
msg-reply_all = Reply all
msg-forward = Forward
receipt-prompt = The sender asked for a read receipt.
receipt-send = Send read receipt
receipt-ignore = Ignore
receipt-subject = Read: { $subject }
receipt-text = Your message of { $date } to { $recipient } with the subject “{ $subject }” was displayed. This does not mean it was read or understood.
error-bad-receipt = This message did not ask for a read receipt.

## Errors
error-back_home = Go to your inbox
error-login-title = Please sign in
error-login-text = You need to sign in to see this page.
error-notfound-title = Not found
error-notfound-text = This folder or message does not exist (it may have been moved or deleted).
error-unreachable-title = The mail server is not reachable
error-unreachable-text = Mailroom could not connect to the mail server. Please try again in a moment.
error-busy-title = Mailroom is busy
error-busy-text = Mailroom is using every connection to the mail server it may open. Please try again in a moment.
error-bad-title = Something is wrong with this request
error-bad-name = That folder name is not valid.
error-bad-uid = That message number is not valid.
error-bad-part = That attachment does not exist.
error-csrf-title = This form has expired
error-csrf-text = For your safety the form was not sent. Go back, reload the page and try again.
error-internal-title = Something went wrong
error-internal-text = Mailroom hit an unexpected problem. It has been logged; please try again.

## Search (web::search)
search-label = Search this folder
search-placeholder = Search mail
search-field = Search in
search-field-headers = Subject, from, to
search-field-all = Everywhere, message text too
search-field-subject = Subject
search-field-from = From
search-field-to = To
search-field-body = Message text
search-submit = Search
search-filters = Filters
search-unread = Unread only
search-flagged = Flagged only
search-attachments = With attachments
search-all_folders = Search all folders
search-since = From date
search-before = Before date
search-title = Search in { $folder }
search-heading = Search results in { $folder }
search-heading_all = Search results in all folders
search-results = { $count } found
search-none = No messages match this search.
search-error-control = The search text contains line breaks or other control characters; please remove them.
search-error-too_long = The search text is too long (at most 200 characters).
search-error-date = Enter dates as YYYY-MM-DD, for example 2026-11-26.
search-error-date_order = The start date must be before the end date.
search-include_text = Search the message text too
search-slow = This server has no full-text index: searching the message text reads every message and may be slow in large folders.
search-view_threads = Group by conversation
search-view_messages = Show as a list of messages

## Conversations (web::threads)
threads-count =
    { $count ->
        [one] { $count } conversation
       *[other] { $count } conversations
    }
threads-size =
    { $count ->
        [one] { $count } message
       *[other] { $count } messages
    }
threads-conversation = Conversation
threads-in_folder = in { $folder }

## Quota (web::share)
quota-title = Mailbox storage
quota-used = { $used } of { $limit } used ({ $percent }%)
quota-warning = Your mailbox is almost full. Delete or archive messages, or new mail may be refused.

## Shared folders and sharing (web::share)
share-section = Shared folders
share-ns-users = Shared with me
share-ns-public = Public folders
share-link = Share this folder
share-title = Sharing { $folder }
share-heading = Sharing
share-who = Who has access
share-user = User
share-user_placeholder = teammate@example.com
share-rights = Access
share-level-read = Read
share-level-read-write = Read and write
share-level-none = No access
share-level-owner = Owner
share-remove = Remove
share-add = Share with a teammate
share-submit = Save
share-hint = Read: see the folder and its messages. Read and write: also flag, add, move and delete messages. "No access" removes the teammate.
share-done = Sharing updated.
share-error-user = Enter the teammate's login name (usually an email address), without spaces.
share-error-teammate = Share with one teammate: not with yourself, "anyone" or a group.
share-error-rights = Choose an access level.
share-unsupported = This mail server does not support sharing folders.
share-not_allowed = You are not allowed to change who has access to this folder.

## Messages too large to show (src/web/message.rs)
msg-too_large = Part of this message is too large to display here — download it.
msg-too_large_part = Download { $name }
msg-more_attachments =
    { $count ->
        [one] { $count } more attachment is not listed here — download them all as one .zip.
       *[other] { $count } more attachments are not listed here — download them all as one .zip.
    }

## Mail rules (issue 12): filters, vacation, forwarding, the Sieve editor
rules-title = Filters
rules-edit = Edit
rules-edit-title = Edit filter
rules-edit-submit = Save filter
rules-edit-cancel = Cancel
rules-field-size_over = Size is over
rules-field-size_under = Size is under
rules-error-size = Enter a size such as 500K or 2M.
rules-summary-and = {" "}and{" "}
rules-action2 = And also (optional)
rules-action-none = Nothing more
rules-error-discard_alone = “Delete for good” cannot be combined with another action.
rules-error-same_action = The second action is the same as the first.
rules-error-gone = This filter was deleted in another window, so nothing was saved. Your input is kept below; saving it adds it as a new filter.
rules-saved_merged = Saved on the mail server. The rules had also been changed in another window; both changes are kept.
advanced-error-changed = The rules were changed elsewhere since you opened this editor, so nothing was saved. Your text is kept below; reload the page to see the newer script.
rules-summary-or = {" "}or{" "}
rules-condition2 = And optionally
rules-condition2-hint = Leave the value empty for a one-condition filter. For sizes, enter 500K or 2M as the value.
rules-match = Combine
rules-match-all = Both conditions must hold
rules-match-any = Either condition is enough
rules-intro = Filters sort mail on the mail server as it arrives, even while you are not logged in. They run in order, top to bottom.
rules-list = Your filters
rules-empty = No filters yet.
rules-disabled = off
rules-enable = Turn on
rules-disable = Turn off
rules-up = Move up
rules-down = Move down
rules-delete = Delete
rules-add = New filter
rules-add-submit = Add filter
rules-name = Name (optional)
rules-condition = When
rules-field = Field
rules-field-from = From
rules-field-to = To or Cc
rules-field-subject = Subject
rules-field-header = Another header
rules-header = Header name (for “another header”)
rules-op = Comparison
rules-op-contains = contains
rules-op-is = is
rules-op-matches = matches (* and ?)
rules-value = Value
rules-action = Then
rules-action-move = Move to folder
rules-action-copy = Copy to folder
rules-action-read = Mark as read
rules-action-flag = Flag
rules-action-label = Add label
rules-action-forward = Forward to
rules-action-discard = Delete for good
rules-action-stop = Stop
rules-target = Folder, address or label
rules-target-hint = A folder for move and copy, an address for forward, a word for a label.
rules-keep = Keep a copy when forwarding
rules-stop = Do not apply later filters to matching mail
rules-summary-move = Move to { $folder }
rules-summary-copy = Copy to { $folder }
rules-summary-label = Label { $label }
rules-summary-forward = Forward to { $address }
rules-summary-forward_keep = Forward to { $address } and keep a copy
rules-saved = Saved on the mail server.
rules-saved_inactive = Saved, but not active: another script is active on the server.
rules-advanced = Advanced: edit the Sieve script
rules-status-foreign = Your mail-rule script was changed outside these forms, so Mailroom will not change it here. Edit it as a script instead:
rules-status-other_active = The script “{ $script }” is active on the mail server, so the rules on these pages do not run. Replacing it turns “{ $script }” off (it is kept on the server).
rules-status-show_other = Show that script
rules-status-replace = Use Mailroom’s rules instead of “{ $script }”
rules-status-inactive = Your Mailroom rules are saved but not active.
rules-status-activate = Activate them
rules-error-field = Choose what to look at.
rules-error-header = Enter a header name, such as X-Priority (no spaces or colons).
rules-error-op = Choose how to compare.
rules-error-value_empty = Enter what to look for.
rules-error-value = The value is too long or has line breaks.
rules-error-name = The name is too long or has line breaks.
rules-error-folder = Choose one of your folders.
rules-error-label = A label is one word without spaces, quotes or brackets.
rules-error-address = Enter a valid address, such as name@example.com.
rules-error-forward_self = Mail cannot be forwarded to your own address.
rules-error-action = Choose what to do.
rules-error-foreign = Your mail-rule script was changed outside Mailroom; nothing was saved. Use the advanced editor to change it.
rules-error-too_many = You have too many filters. Delete some first.
rules-error-server = The mail server refused the rules: { $reason }
vacation-title = Vacation reply
vacation-intro = While you are away, the mail server answers each sender once per interval. Mailing lists and bulk mail get no answer.
vacation-enabled = Send a vacation reply
vacation-subject = Subject
vacation-body = Message
vacation-start = First day (optional)
vacation-end = Last day (optional)
vacation-days = Answer each sender at most once every … days
vacation-addresses = Mail to your other addresses is answered too:
vacation-lists = Never sent to mailing lists (List-Id) or bulk mail (Precedence: bulk).
vacation-save = Save
vacation-error-subject = The subject is too long or has line breaks.
vacation-error-body_empty = Write the message to send.
vacation-error-body_long = The message is too long.
vacation-error-date = Enter dates as YYYY-MM-DD.
vacation-error-order = The last day is before the first day.
vacation-error-days = Enter a number of days from 1 to 60.
forwarding-title = Forwarding
forwarding-intro = The mail server forwards all your incoming mail to these addresses.
forwarding-enabled = Forward all incoming mail
forwarding-addresses = To (one or more addresses, separated by commas)
forwarding-keep = Keep a copy in this mailbox
forwarding-save = Save
forwarding-error-address = One of the addresses is not valid, such as name@example.com.
forwarding-error-empty = Enter at least one address to forward to.
forwarding-error-too_many = At most 10 forwarding addresses.
advanced-title = Sieve script
advanced-intro = Mailroom keeps your rules in the script “mailroom” on the mail server. Edit it here in the Sieve language (RFC 5228); the server checks it before saving. After a hand edit, the other rule pages only show it.
advanced-scripts = Scripts on the server:
advanced-active = active
advanced-errors = The mail server found errors; nothing was saved:
advanced-script = Script
advanced-save = Check and save
advanced-error-too_long = The script is too long.
settings-rules-hint = Sort incoming mail into folders, flag or forward it.
settings-vacation-hint = Answer automatically while you are away.
settings-forwarding-hint = Send all incoming mail on to another address.
settings-rules-unavailable = Mail rules (filters, vacation reply, forwarding) are not available: this mail server offers no ManageSieve.

## Send later and undo send (src/send/outbox.rs, src/web/outbox.rs)
notice-queued = Sending in a few seconds.
outbox-undo = Undo
outbox-title = Outbox
outbox-intro = Messages waiting for their send time. Edit puts a message back in Drafts and opens it.
outbox-zone = Times are in
outbox-empty = Nothing is waiting to be sent.
outbox-when = Sends at
outbox-to = To
outbox-send_now = Send now
outbox-edit = Edit
outbox-dismiss = Dismiss
outbox-failed = Could not be sent; it is in Drafts. Reason:
outbox-notice-scheduled = Scheduled. It goes out at the time shown, even with Mailroom closed.
outbox-notice-sending = Sending now.
outbox-notice-gone = Too late: that message has been sent (or is being sent).
outbox-notice-full = The outbox is full. Send or cancel some waiting messages first.
outbox-notice-dismissed = Removed from the outbox.
outbox-error-invalid = The send time is not a date and time.
outbox-error-past = The send time has passed.
outbox-error-too_far = A message can be scheduled at most a year ahead.
compose-send_at = Send later
compose-send_at-hint = Leave empty to send now. Your time zone is used.
settings-undo_send = Undo send
settings-undo_send-label = Seconds to undo a message after Send (0 to send at once)
settings-undo_send-invalid = Choose a number of seconds from 0 to 60.
nav-outbox = Outbox

## Live updates (src/live.rs, GET /events, static/app.js)
live-new_mail = New mail
live-notify-title = Desktop notifications
live-notify-label = Tell me about new mail in the inbox while Mailroom is in the background
live-notify-hint = Kept in this browser only. Open pages update by themselves either way.

## Other mailboxes (issue 14): /settings/accounts
accounts-title = Other mailboxes
accounts-back = Settings
settings-accounts-hint = Fetch mail from your POP3 or IMAP accounts elsewhere.
accounts-intro = Mailroom copies new mail from these accounts into the folder you choose. It fetches while you use Mailroom (every { $minutes } minutes at most), and when you press Fetch now: not while you are away, because only your logged-in browser can open your mailbox.
accounts-list = Your other mailboxes
accounts-empty = No other mailboxes yet.
accounts-into = Into
accounts-keep-yes = left on the server
accounts-keep-no = deleted from the server once fetched
accounts-last = Last fetched:
accounts-never = never
accounts-last_count = { $count } new
accounts-fetch_now = Fetch now
accounts-remove = Remove
accounts-add = Add a mailbox
accounts-add-submit = Add
accounts-protocol = Protocol
accounts-host = Server
accounts-security = Security
accounts-security-tls = TLS (recommended)
accounts-security-starttls = STARTTLS
accounts-security-none = None (tests only)
accounts-port = Port
accounts-port-default = usual port
accounts-login = Username
accounts-password = Password
accounts-folder = Put mail into
accounts-keep = Leave a copy on the server
accounts-added = Mailbox added. Press Fetch now to fetch its mail.
accounts-removed = Mailbox removed. Mail already fetched stays.
accounts-fetched = New messages fetched: { $count }.
accounts-busy = This mailbox is being fetched right now; try again in a moment.
accounts-failed = The fetch failed; the reason is shown below.
accounts-error-protocol = Choose POP3 or IMAP.
accounts-error-security = Choose how the connection is secured.
accounts-error-host = Enter a server name, like pop.example.com.
accounts-error-port = Enter a port number from 1 to 65535, or leave it empty.
accounts-error-login = Enter the username of that mailbox.
accounts-error-password_field = Enter the password of that mailbox.
accounts-error-folder = Choose one of your folders.
accounts-error-folder_gone = The folder for this mailbox's mail no longer exists: remove the mailbox and add it again with another folder.
accounts-error-too_many = You have as many other mailboxes as allowed (10).
accounts-error-address = Mailroom may not connect to this address (a local or private network).
accounts-error-plaintext = A connection without encryption is not allowed: choose TLS or STARTTLS.
accounts-error-unreachable = The server could not be reached.
accounts-error-auth = The server refused the username or password.
accounts-error-remote = The server answered with an error.
accounts-error-local = Your own mailbox could not take the mail; it will be tried again.
accounts-error-password = The saved password can no longer be read (the server's key changed): remove the mailbox and add it again.
accounts-error-timeout = The fetch took too long; it continues next time.
accounts-error-oversize =
    { $count ->
        [one] { $count } message was too large (over 25 MB) and was left on the server.
       *[other] { $count } messages were too large (over 25 MB) and were left on the server.
    }

## Two-factor login (issue 14 item 4): the code step of the login and /settings/2fa.
twofactor-title = Two-factor login
twofactor-hint = Ask for a code from an authenticator app after the password.
twofactor-code-title = Enter your code
twofactor-code-as = Signing in as
twofactor-code-label = Code
twofactor-code-hint = The six digits your authenticator app shows, or one of your recovery codes.
twofactor-remember = Don’t ask again in this browser for 30 days
twofactor-code-submit = Verify
twofactor-code-cancel = Start again
twofactor-wrong = That code is not right, or was already used.
twofactor-expired = The sign-in took too long. Please enter your password again.
twofactor-state-off = Two-factor login is off.
twofactor-state-on = Two-factor login is on: signing in needs your password and a code.
twofactor-intro = With it on, signing in also asks for a code from an authenticator app on your phone, so a stolen password alone is not enough.
twofactor-start = Set up two-factor login
twofactor-setup-title = Add Mailroom to your app
twofactor-setup-scan = Scan this QR code with your authenticator app.
twofactor-setup-qr_alt = QR code for your authenticator app
twofactor-setup-manual = Or enter this key by hand:
twofactor-setup-code = Code shown by the app
twofactor-enable = Turn on
twofactor-cancel = Cancel setup
twofactor-enabled = Two-factor login is on.
twofactor-disabled = Two-factor login is off.
twofactor-cancelled = Setup cancelled.
twofactor-recovery-title = Your recovery codes
twofactor-recovery-once = Keep these somewhere safe. Each works once, instead of a code, if you lose your phone. They are shown only now.
twofactor-recovery-left = Recovery codes left: { $count }
twofactor-disable-title = Turn off two-factor login
twofactor-disable-code = A current code or a recovery code
twofactor-disable = Turn off

## Labels (IMAP keywords): chips, the action bar's picker, /labels, notices.
action-label_add = Add label
action-label_remove = Remove label
action-label_name = Label
notice-done-label = Labelled: { $count }
notice-done-unlabel = Label removed: { $count }
notice-label_invalid = Choose a label: a name of at most 64 characters, not starting with \.
notice-labels_not_stored = This folder cannot keep labels: the mail server does not store new keywords here.
labels-title = Labels
labels-intro = Labels are kept on the mail server as keywords, so other mail programs see them too. Colours are kept here.
labels-list = Your labels
labels-empty = No labels yet.
labels-create = New label
labels-create-submit = Create label
labels-name = Name
labels-colour = Colour
labels-save_colour = Save colour
labels-new_name = New name
labels-rename = Rename
labels-delete = Delete
labels-remove = Remove label
labels-manage = Manage labels
labels-on_message = Labels
labels-filter = Label
labels-colour-grey = Grey
labels-colour-red = Red
labels-colour-orange = Orange
labels-colour-yellow = Yellow
labels-colour-green = Green
labels-colour-teal = Teal
labels-colour-blue = Blue
labels-colour-purple = Purple
labels-done-created = Label created.
labels-done-coloured = Colour saved.
labels-done-renamed =
    Label renamed on { $count ->
        [one] { $count } message
       *[other] { $count } messages
    } in { $folders ->
        [one] { $folders } folder
       *[other] { $folders } folders
    }.
labels-done-deleted =
    Label deleted: removed from { $count ->
        [one] { $count } message
       *[other] { $count } messages
    } in { $folders ->
        [one] { $folders } folder
       *[other] { $folders } folders
    }.
labels-done-refused =
    Not renamed everywhere: { $folders ->
        [one] { $folders } folder cannot
       *[other] { $folders } folders cannot
    } keep the new label, so the old one stays there.
labels-error-empty = Enter a label name.
labels-error-too_long = The label name is too long (at most 64 characters).
labels-error-system = A label name cannot start with \ (those are system flags).
labels-error-control = A label name cannot contain line breaks or other control characters.
labels-error-reserved = That name is reserved by mail programs; choose another.
labels-error-unknown = Unknown label.
labels-error-action = Unknown label action.

## Drafts open in the editor (issue 13 item 3).
msg-edit_draft = Edit draft

## Time zones (issue 13 item 2): relative list dates, the /settings time-zone form.
date-yesterday = Yesterday
date-weekdays = Mon Tue Wed Thu Fri Sat Sun
settings-timezone = Time zone
settings-timezone-in_use = Dates are shown in:
settings-timezone-default = default
settings-timezone-label = Time zone (IANA name)
settings-timezone-hint = For example Europe/Paris or Asia/Shanghai. Leave empty to use the default.
settings-timezone-save = Save time zone
settings-timezone-invalid = This is not a known time zone name. Pick one from the list, like Europe/Paris.

## Appearance, print view and accessibility (issue 13, items 5 and 8: web::theme,

## message::print, the skip link).
a11y-skip = Skip to main content
settings-theme = Appearance
settings-theme-intro = Colour theme
settings-theme-auto = Same as the system
settings-theme-light = Light
settings-theme-dark = Dark
settings-theme-save = Save appearance
settings-error-theme = Choose one of the offered themes.
msg-print = Print
print-hint = Use your browser's Print command to print this message.
print-back = Back to the message

## Compose: the forwarded message in the editor, and rich text
compose-forward_inline_note = “{ $subject }” is in the text above, where you can change it before sending.
compose-forward_inline_files = Its attachments go along: { $names }.
compose-forward_attachment_note = “{ $subject }” goes along whole, attached as { $file }. Delete its text above if it should not be there twice.
compose-rich-toolbar = Formatting
compose-rich-bold = Bold
compose-rich-italic = Italic
compose-rich-bullets = Bulleted list
compose-rich-numbers = Numbered list
compose-rich-link = Link
compose-rich-link_prompt = Link address (https://… or mailto:…)
compose-rich-quote = Quote
compose-rich-to_plain = Plain text
compose-rich-to_rich = Formatted text
compose-error-html_too_large = The formatted text is too large to send (at most { $max }). Its plain text is kept below; shorten it and send again.
