//! The HTML sanitizer for message bodies: one ammonia policy built for mail.
//!
//! This file owns the allowlist (which tags, attributes and CSS properties survive) and the
//! URL policy (which links and images survive, and how `cid:` images become part URLs).
//! Every rewrite happens inside ammonia's callbacks (`attribute_filter`, `url_relative`,
//! the style-property filter), never by editing the serialized HTML afterwards: ammonia's
//! output is always a well-formed fragment, and a string edit could break that guarantee.
//! It does not pick parts or know about MIME; [`super::render`] calls it once per HTML part.
//!
//! Remote images are never linked directly. When the user allowed them, the filter rewrites
//! each one to Mailroom's image proxy, `/proxy?url=<remote>&exp=<expiry>&sig=<HMAC>` ([`ImageProxy`]):
//! the sender then sees neither the reader's IP address nor cookies, and the proxy fetches
//! only URLs that this sanitizer wrote (the signature), never one a message or a visitor
//! made up. The body's CSP (`img-src 'self' data:`) stays the same either way.

use std::{
    borrow::Cow,
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use ammonia::{Builder, Url, UrlRelative, UrlRelativeEvaluate};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::Sha256;

/// The image proxy's route; the web layer mounts [`crate::web`]'s proxy handler here.
pub const PROXY_ROUTE: &str = "/proxy";

/// Longest remote URL the proxy will carry; longer ones are dropped like any bad URL.
const MAX_PROXIED_URL: usize = 2048;

/// Characters left as-is in the proxied URL's query value: RFC 3986 unreserved only, so
/// the query has exactly one reading (`&`, `=`, `#`, `%` and `+` are always escaped).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Writes and checks the signed URLs of the image proxy.
///
/// The signature is an HMAC-SHA256 of the exact remote URL, the user it was written for
/// and its expiry (Unix seconds, carried in the URL as `exp`), under a key derived from the
/// instance's secret. So every instance sharing `MAILROOM_SECRET_KEY` accepts the others'
/// URLs, nobody without the key can turn the proxy into a fetcher of their choosing, and a
/// URL is good only for its user (checked against the session) and only until it expires.
#[derive(Clone)]
pub struct ImageProxy {
    /// HMAC key, derived once from the instance secret (see [`ImageProxy::new`]).
    key: [u8; 32],
    /// Who the URLs are written for; empty until [`ImageProxy::bound`].
    user: String,
    /// When the URLs stop working, Unix seconds; 0 (long past) until bound.
    expires: i64,
}

impl std::fmt::Debug for ImageProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ImageProxy(***)")
    }
}

impl ImageProxy {
    /// Derives the signing key from the instance's secret material (the cookie key), with
    /// a purpose label so the two uses never share a key.
    pub fn new(secret: &[u8]) -> ImageProxy {
        let mut mac = hmac_with(secret);
        mac.update(b"mailroom image proxy v1");
        ImageProxy {
            key: mac.finalize().into_bytes().into(),
            user: String::new(),
            expires: 0,
        }
    }

    /// The same key, writing and checking URLs for `user` that expire at `expires`.
    pub fn bound(&self, user: &str, expires: i64) -> ImageProxy {
        ImageProxy {
            key: self.key,
            user: user.to_owned(),
            expires,
        }
    }

    /// The HMAC over user, expiry and URL, each length-prefixed so no two inputs collide.
    fn mac(&self, remote: &str) -> Hmac<Sha256> {
        let mut mac = hmac_with(&self.key);
        for field in [
            self.user.as_bytes(),
            &self.expires.to_be_bytes(),
            remote.as_bytes(),
        ] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field);
        }
        mac
    }

    /// The signature of `remote` for this user and expiry, lower-case hex.
    pub fn sign(&self, remote: &str) -> String {
        hex::encode(self.mac(remote).finalize().into_bytes())
    }

    /// Whether `sig` is the signature of `remote` for this user and expiry (compared in
    /// constant time). The caller checks the expiry against the clock.
    pub fn verify(&self, remote: &str, sig: &str) -> bool {
        let Ok(sig) = hex::decode(sig) else {
            return false;
        };
        self.mac(remote).verify_slice(&sig).is_ok()
    }

    /// The proxy URL for `remote`: `/proxy?url=<remote, percent-encoded>&exp=<unix>&sig=<hex>`.
    pub fn url_for(&self, remote: &str) -> String {
        format!(
            "{PROXY_ROUTE}?url={}&exp={}&sig={}",
            utf8_percent_encode(remote, QUERY_VALUE),
            self.expires,
            self.sign(remote)
        )
    }

    /// The inverse of [`ImageProxy::url_for`] for the relative-URL policy: `Some(remote)`
    /// only for a proxy URL in exactly the shape we write, with a valid signature.
    fn parse_own_url(&self, url: &str) -> Option<String> {
        let query = url.strip_prefix(PROXY_ROUTE)?.strip_prefix("?url=")?;
        let (encoded, rest) = query.split_once("&exp=")?;
        let (expires, sig) = rest.split_once("&sig=")?;
        if sig.contains(['&', '#']) || encoded.contains(['&', '#']) {
            return None;
        }
        if expires != self.expires.to_string() {
            return None;
        }
        let remote = percent_encoding::percent_decode_str(encoded)
            .decode_utf8()
            .ok()?;
        let canonical = utf8_percent_encode(&remote, QUERY_VALUE).to_string() == encoded;
        (canonical && self.verify(&remote, sig)).then(|| remote.into_owned())
    }
}

/// An HMAC-SHA256 instance keyed with `key`.
fn hmac_with(key: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of every length (RFC 2104 hashes long ones, pads short ones), so
    // the error case does not exist for any input.
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length")
}

/// Elements kept (without their attributes unless listed in [`tag_attributes`]).
/// This is what mail actually uses: table layouts, `font`/`center`, lists and headings.
/// Anything not here is unwrapped (its text stays) or, for [`CLEAN_CONTENT_TAGS`], removed
/// with its content.
const TAGS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "address",
    "article",
    "aside",
    "b",
    "bdi",
    "bdo",
    "big",
    "blockquote",
    "br",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "font",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "main",
    "mark",
    "nav",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "section",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "wbr",
];

/// Elements removed together with everything inside them. Scripts and stylesheets must not
/// run or leak as text; `title` would otherwise show up as stray text (crates.md); the
/// embedding and form elements are gone entirely; `svg` and `math` are dropped wholesale
/// because foreign content is where namespace-confusion (mXSS) tricks live; `noscript`,
/// `xmp`, `noembed`, `noframes`, `plaintext` and `template` parse their content in
/// unusual modes, so their content is not trusted either.
const CLEAN_CONTENT_TAGS: &[&str] = &[
    "script",
    "style",
    "title",
    "noscript",
    "template",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "noembed",
    "noframes",
    "xmp",
    "plaintext",
    "textarea",
    "select",
    "svg",
    "math",
];

/// CSS properties allowed in `style` attributes. Everything that can load a URL
/// (`background`, `background-image`, `list-style-image`, `content`, `cursor`,
/// `border-image`, `mask`, `filter`...) is left out, and so is everything that can move a
/// message out of its box (`position`, `z-index`, `transform`, `inset`...).
const STYLE_PROPERTIES: &[&str] = &[
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-variant",
    "font-weight",
    "text-align",
    "text-decoration",
    "text-decoration-color",
    "text-decoration-line",
    "text-decoration-style",
    "text-indent",
    "text-transform",
    "text-overflow",
    "letter-spacing",
    "word-spacing",
    "line-height",
    "vertical-align",
    "white-space",
    "word-break",
    "word-wrap",
    "overflow-wrap",
    "direction",
    "margin",
    "margin-top",
    "margin-right",
    "margin-bottom",
    "margin-left",
    "padding",
    "padding-top",
    "padding-right",
    "padding-bottom",
    "padding-left",
    "border",
    "border-top",
    "border-right",
    "border-bottom",
    "border-left",
    "border-width",
    "border-style",
    "border-color",
    "border-top-width",
    "border-right-width",
    "border-bottom-width",
    "border-left-width",
    "border-top-style",
    "border-right-style",
    "border-bottom-style",
    "border-left-style",
    "border-top-color",
    "border-right-color",
    "border-bottom-color",
    "border-left-color",
    "border-collapse",
    "border-spacing",
    "border-radius",
    "width",
    "height",
    "max-width",
    "min-width",
    "max-height",
    "min-height",
    "display",
    "float",
    "clear",
    "table-layout",
    "list-style-type",
    "caption-side",
    "empty-cells",
];

/// Attribute names that carry a URL in some HTML dialect. Only `href`, `src` and
/// `background` are ever allowlisted; any other one that reaches the filter is dropped, so a
/// later allowlist change cannot let an unchecked URL through.
const URL_ATTRIBUTES: &[&str] = &[
    "action",
    "archive",
    "cite",
    "classid",
    "codebase",
    "data",
    "dynsrc",
    "formaction",
    "icon",
    "imagesrcset",
    "longdesc",
    "lowsrc",
    "manifest",
    "ping",
    "poster",
    "profile",
    "srcset",
    "usemap",
    "xlink:href",
];

/// Substrings that make a CSS declaration unsafe whatever its property: every function
/// that can fetch (`url(`, `image-set(`, `image(`, `cross-fade(`, `element(`, `paint(`),
/// the old IE/Firefox script hooks, and `var(`/`env(`/`attr(`, which would let a value
/// come from outside the declaration we checked.
const BANNED_CSS: &[&str] = &[
    "url(",
    "image",
    "expression",
    "var(",
    "env(",
    "attr(",
    "element(",
    "cross-fade",
    "paint(",
    "src(",
    "javascript:",
    "vbscript:",
    "binding",
    "behavior",
    "@import",
];

/// What one sanitizer run needs to know about the message it is cleaning.
pub(crate) struct SanitizeContext {
    /// Show remote `http(s)` images (the user clicked "Show remote content" or trusts the
    /// sender), through `image_proxy`.
    pub allow_remote: bool,
    /// Where allowed remote images go. Without it they are dropped even when allowed:
    /// a remote image is never linked directly.
    pub image_proxy: Option<ImageProxy>,
    /// URL prefix for parts, e.g. `/mail/INBOX/42/part/`.
    pub part_url_prefix: String,
    /// `Content-ID` (without angle brackets) → part id string, for `cid:` references.
    pub cids: HashMap<String, String>,
}

/// The result of one sanitizer run.
pub(crate) struct Sanitized {
    /// The cleaned, well-formed HTML fragment.
    pub html: String,
    /// A remote image (or image-like attribute) was seen, whether it was kept or not.
    pub has_remote_content: bool,
    /// Part ids (as strings) that a `cid:` reference was rewritten to.
    pub used_parts: HashSet<String>,
}

/// The URL policy, shared with ammonia's `attribute_filter` callback (which must be
/// `'static`, hence the `Arc` and the interior mutability for what it reports back).
struct Policy {
    allow_remote: bool,
    image_proxy: Option<ImageProxy>,
    prefix: String,
    cids: HashMap<String, String>,
    remote_seen: AtomicBool,
    used_parts: Mutex<HashSet<String>>,
}

/// Cleans one HTML body part with the mail policy.
pub(crate) fn sanitize_html(html: &str, ctx: SanitizeContext) -> Sanitized {
    let policy = Arc::new(Policy {
        allow_remote: ctx.allow_remote,
        image_proxy: ctx.image_proxy,
        prefix: ctx.part_url_prefix,
        cids: ctx.cids,
        remote_seen: AtomicBool::new(false),
        used_parts: Mutex::new(HashSet::new()),
    });

    let mut builder = Builder::empty();
    builder
        .tags(TAGS.iter().copied().collect())
        .clean_content_tags(CLEAN_CONTENT_TAGS.iter().copied().collect())
        .tag_attributes(tag_attributes())
        .tag_attribute_values(HashMap::new())
        // No `id`, `name` or `class`: ids and names can clobber the page's DOM, and classes
        // would let a message borrow the page's own styles.
        .generic_attributes(["style", "title", "lang", "dir"].into_iter().collect())
        // The scheme gate runs before our filter; `cid` and `data` must pass it so the
        // filter can rewrite or vet them (crates.md: without `cid` here they vanish).
        .url_schemes(
            ["http", "https", "mailto", "cid", "data"]
                .into_iter()
                .collect(),
        )
        // Relative URLs are never taken from the message; the only relative URLs that may
        // remain are the part and proxy URLs our filter wrote (see `PartUrlsOnly`).
        .url_relative(UrlRelative::Custom(Box::new(PartUrlsOnly {
            prefix: policy.prefix.clone(),
            image_proxy: policy.image_proxy.clone(),
        })))
        .link_rel(Some("noopener noreferrer"))
        .set_tag_attribute_values(
            [("a", [("target", "_blank")].into_iter().collect())]
                .into_iter()
                .collect(),
        )
        .strip_comments(true)
        .id_prefix(None)
        .filter_style_properties(STYLE_PROPERTIES.iter().copied().collect())
        .attribute_filter(attribute_filter(Arc::clone(&policy)));

    let html = builder.clean(html).to_string();
    let used_parts = policy
        .used_parts
        .lock()
        .map(|set| set.clone())
        .unwrap_or_default();
    Sanitized {
        html,
        has_remote_content: policy.remote_seen.load(Ordering::Relaxed),
        used_parts,
    }
}

/// Per-element attribute allowlist: presentational attributes that mail layouts rely on.
fn tag_attributes() -> HashMap<&'static str, HashSet<&'static str>> {
    let cell = [
        "align",
        "valign",
        "bgcolor",
        "width",
        "height",
        "background",
    ];
    let mut map: HashMap<&'static str, HashSet<&'static str>> = HashMap::new();
    let mut add = |tag: &'static str, attrs: &[&'static str]| {
        map.entry(tag).or_default().extend(attrs.iter().copied());
    };
    add("a", &["href"]);
    add(
        "img",
        &[
            "src", "alt", "width", "height", "align", "border", "hspace", "vspace",
        ],
    );
    add(
        "table",
        &[
            "width",
            "height",
            "align",
            "bgcolor",
            "border",
            "cellpadding",
            "cellspacing",
            "background",
            "summary",
            "frame",
            "rules",
        ],
    );
    add("td", &cell);
    add("td", &["colspan", "rowspan", "nowrap", "headers", "abbr"]);
    add("th", &cell);
    add(
        "th",
        &["colspan", "rowspan", "nowrap", "headers", "abbr", "scope"],
    );
    add("tr", &cell);
    for tag in ["tbody", "thead", "tfoot"] {
        add(tag, &["align", "valign", "bgcolor"]);
    }
    for tag in ["col", "colgroup"] {
        add(tag, &["span", "width", "align", "valign"]);
    }
    add("font", &["color", "face", "size"]);
    for tag in ["div", "p", "h1", "h2", "h3", "h4", "h5", "h6", "caption"] {
        add(tag, &["align"]);
    }
    add("hr", &["align", "size", "width", "color", "noshade"]);
    add("ol", &["start", "type", "reversed"]);
    add("ul", &["type"]);
    add("li", &["value", "type"]);
    add("del", &["datetime"]);
    add("ins", &["datetime"]);
    add("details", &["open"]);
    map
}

/// Wraps the shared policy in the closure shape ammonia wants (higher-ranked, `'static`).
fn attribute_filter(
    policy: Arc<Policy>,
) -> impl for<'u> Fn(&str, &str, &'u str) -> Option<Cow<'u, str>> + Send + Sync + 'static {
    move |element, attribute, value| policy.filter(element, attribute, value)
}

impl Policy {
    /// Decides the fate of one allowlisted attribute: keep, rewrite or drop (`None`).
    fn filter<'u>(&self, element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
        match attribute {
            "href" if element == "a" => self.link(value),
            "src" if element == "img" => self.image(value),
            "background" => self.image(value),
            "style" => clean_style(value).map(Cow::Owned),
            "href" | "src" => None,
            a if URL_ATTRIBUTES.contains(&a) => None,
            a => presentational_value_ok(a, value).then_some(Cow::Borrowed(value)),
        }
    }

    /// Links: only `http`, `https` and `mailto`, normalized by the URL parser so the browser
    /// sees exactly what we checked. `cid:` links point at the part.
    fn link<'u>(&self, value: &'u str) -> Option<Cow<'u, str>> {
        let value = value.trim();
        let url = match Url::parse(value) {
            Ok(url) => url,
            // Scheme-relative `//host/path` would inherit our scheme: make it explicit.
            Err(ammonia::url::ParseError::RelativeUrlWithoutBase) if value.starts_with("//") => {
                Url::parse(&format!("https:{value}")).ok()?
            }
            Err(_) => return None,
        };
        match url.scheme() {
            "http" | "https" | "mailto" => Some(Cow::Owned(url.to_string())),
            "cid" => self.cid(value).map(Cow::Owned),
            _ => None,
        }
    }

    /// Images (`img src`, `background`): `cid:` becomes the part URL, remote images obey
    /// `allow_remote` and go through the image proxy, `data:` is kept only for raster
    /// images; everything else is dropped.
    fn image<'u>(&self, value: &'u str) -> Option<Cow<'u, str>> {
        let value = value.trim();
        let url = match Url::parse(value) {
            Ok(url) => url,
            Err(ammonia::url::ParseError::RelativeUrlWithoutBase) if value.starts_with("//") => {
                Url::parse(&format!("https:{value}")).ok()?
            }
            Err(_) => return None,
        };
        match url.scheme() {
            "cid" => self.cid(value).map(Cow::Owned),
            "http" | "https" => {
                self.remote_seen.store(true, Ordering::Relaxed);
                let proxy = self.image_proxy.as_ref().filter(|_| self.allow_remote)?;
                // Credentials in an image URL are a tracking or phishing trick, never needed.
                let plain = url.username().is_empty() && url.password().is_none();
                (plain && url.as_str().len() <= MAX_PROXIED_URL)
                    .then(|| Cow::Owned(proxy.url_for(url.as_str())))
            }
            "data" if is_raster_data_url(value) => Some(Cow::Borrowed(value)),
            _ => None,
        }
    }

    /// Resolves `cid:<content-id>` (RFC 2392, percent-encoded) to `prefix + part id`.
    fn cid(&self, value: &str) -> Option<String> {
        let rest = value.get(4..)?;
        let decoded = percent_encoding::percent_decode_str(rest).decode_utf8_lossy();
        let id = decoded.trim().trim_start_matches('<').trim_end_matches('>');
        let part = self.cids.get(id).or_else(|| {
            // Content-IDs are compared exactly first; some senders change the case.
            self.cids
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(id))
                .map(|(_, v)| v)
        })?;
        if let Ok(mut used) = self.used_parts.lock() {
            used.insert(part.clone());
        }
        Some(format!("{}{}", self.prefix, part))
    }
}

/// Presentational attributes keep only values of their own shape: a size is a number, a
/// colour a name or hex code, an alignment a keyword. Junk there is inert in today's
/// browsers, but nothing else needs to pass, so nothing else does. Free-text attributes
/// (`alt`, `title`, `summary`, `abbr`, `headers`) are only ever text and stay as they are.
fn presentational_value_ok(attribute: &str, value: &str) -> bool {
    let v = value.trim();
    let all = |max: usize, ok: &dyn Fn(char) -> bool| v.len() <= max && v.chars().all(ok);
    match attribute {
        "width" | "height" | "border" | "cellpadding" | "cellspacing" | "hspace" | "vspace"
        | "size" | "span" | "colspan" | "rowspan" | "start" | "value" => {
            v.starts_with(|c: char| c.is_ascii_digit() || "+-.".contains(c))
                && all(16, &|c| c.is_ascii_alphanumeric() || "+-.%*".contains(c))
        }
        "bgcolor" | "color" => all(32, &|c| c.is_ascii_alphanumeric() || c == '#'),
        "align" | "valign" | "frame" | "rules" | "scope" | "type" | "dir" | "nowrap"
        | "noshade" | "open" | "reversed" => all(20, &|c| c.is_ascii_alphanumeric() || c == '-'),
        "lang" => all(35, &|c| c.is_ascii_alphanumeric() || c == '-'),
        "datetime" => all(40, &|c| c.is_ascii_alphanumeric() || ":.+- ".contains(c)),
        "face" => all(200, &|c| !c.is_control() && !"<>\"'`;:()\\".contains(c)),
        _ => true,
    }
}

/// `data:` URLs are allowed only for base64 raster images: SVG (scriptable) and HTML are
/// not, and the payload must be base64 alone, so nothing else (markup, another URL) can
/// ride along in the attribute.
fn is_raster_data_url(value: &str) -> bool {
    let Some((head, payload)) = value.split_once(',') else {
        return false;
    };
    let head = head.to_ascii_lowercase();
    let raster = ["png", "jpeg", "jpg", "gif", "webp"].iter().any(|t| {
        head.strip_prefix("data:image/")
            .and_then(|rest| rest.strip_prefix(t))
            .is_some_and(|params| params.ends_with(";base64") && !params.contains(','))
    });
    raster
        && payload
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b) || b.is_ascii_whitespace())
}

/// The relative-URL policy: the only relative URLs allowed are part URLs produced by the
/// attribute filter (`prefix` followed by a part id) and image-proxy URLs it signed.
/// Relative URLs written by the sender were already dropped by the filter; this is the
/// second lock on the same door, and it is what keeps our rewritten URLs from being dropped
/// (crates.md: `Deny` drops them).
struct PartUrlsOnly {
    prefix: String,
    image_proxy: Option<ImageProxy>,
}

impl<'a> UrlRelativeEvaluate<'a> for PartUrlsOnly {
    fn evaluate<'url>(&self, url: &'url str) -> Option<Cow<'url, str>> {
        if let Some(proxy) = &self.image_proxy
            && proxy.parse_own_url(url).is_some()
        {
            return Some(Cow::Borrowed(url));
        }
        let rest = url.strip_prefix(self.prefix.as_str())?;
        let is_part_id = !rest.is_empty()
            && rest.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && rest.parse::<super::PartId>().is_ok();
        (!self.prefix.is_empty() && is_part_id).then_some(Cow::Borrowed(url))
    }
}

/// First pass over a `style` attribute, run inside ammonia's attribute filter (ammonia's
/// own property filter runs after it and normalizes what is left). Drops every declaration
/// that could fetch, run script or pull a value from elsewhere, and negative margins (which
/// let a message draw over the page around it). CSS comments are removed first so they
/// cannot split a banned word, and any declaration with a backslash is dropped because CSS
/// escapes can spell `url(` without the letters.
fn clean_style(value: &str) -> Option<String> {
    let without_comments = strip_css_comments(value);
    let kept: Vec<&str> = split_declarations(&without_comments)
        .into_iter()
        .map(str::trim)
        .filter(|d| !d.is_empty() && declaration_is_safe(d))
        .collect();
    (!kept.is_empty()).then(|| kept.join(";"))
}

/// Whether a single `property: value` declaration may go on to ammonia's property filter.
fn declaration_is_safe(declaration: &str) -> bool {
    if declaration.contains('\\') {
        return false;
    }
    let lower = declaration.to_ascii_lowercase();
    if BANNED_CSS.iter().any(|banned| lower.contains(banned)) {
        return false;
    }
    let Some((property, value)) = lower.split_once(':') else {
        return false;
    };
    let property = property.trim();
    // ammonia applies the same allowlist afterwards; checking it here too means a style
    // with nothing allowed is dropped whole instead of left as `style=""`.
    STYLE_PROPERTIES.contains(&property)
        && !(property.starts_with("margin") && value.contains('-'))
        && value_serializes_plainly(value)
}

/// Whether ammonia's CSS serializer will write `value` back without any escape. It escapes
/// what would otherwise re-parse differently: a quote of the other kind inside a string,
/// control characters, and a dimension whose unit looks like an exponent (`3e`, `3e-x`).
/// Mail never needs those, and a value we keep must come out exactly as plain as we
/// checked it (an escape in the output is what the checks above exist to keep out).
fn value_serializes_plainly(value: &str) -> bool {
    let plain_chars = value
        .chars()
        .all(|c| c.is_alphanumeric() || " \t#%.,;+-()/!'\"_".contains(c));
    let one_quote_kind = !(value.contains('\'') && value.contains('"'));
    let words = value.split(|c: char| !(c.is_alphanumeric() || ".+-#%".contains(c)));
    let exponent_like = words.filter(|w| !w.starts_with('#')).any(|word| {
        let unsigned = word.trim_start_matches(['+', '-']);
        let number_len = unsigned
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(unsigned.len());
        let (number, unit) = unsigned.split_at(number_len);
        // `e` right after a number, unless a letter follows (`em`, `ex`): `3e`, `3e-x`,
        // `0e.` all read as an exponent or a unit the serializer must escape.
        let mut u = unit.chars();
        number.bytes().any(|b| b.is_ascii_digit())
            && matches!(u.next(), Some('e' | 'E'))
            && !u.next().is_some_and(|c| c.is_ascii_alphabetic())
    });
    plain_chars && one_quote_kind && !exponent_like
}

/// Removes `/* ... */` comments; an unterminated comment swallows the rest, as in CSS.
fn strip_css_comments(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        out.push_str(rest.get(..start).unwrap_or_default());
        match rest
            .get(start + 2..)
            .and_then(|r| r.find("*/").map(|end| (r, end)))
        {
            Some((r, end)) => rest = r.get(end + 2..).unwrap_or_default(),
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// Splits a declaration list at `;` that is outside quotes and parentheses.
fn split_declarations(css: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in css.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth = depth.saturating_sub(1),
            (None, ';') if depth == 0 => {
                parts.push(css.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(css.get(start..).unwrap_or_default());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(allow_remote: bool) -> SanitizeContext {
        SanitizeContext {
            allow_remote,
            image_proxy: Some(ImageProxy::new(b"test secret")),
            part_url_prefix: "/mail/INBOX/1/part/".into(),
            cids: [("logo@x".to_string(), "3".to_string())]
                .into_iter()
                .collect(),
        }
    }

    fn clean(html: &str) -> String {
        sanitize_html(html, ctx(false)).html
    }

    #[test]
    fn scripts_in_every_spelling_are_removed_with_content() {
        for input in [
            "<script>alert(1)</script>ok",
            "<SCRIPT>alert(1)</SCRIPT>ok",
            "<script type=text/javascript>alert(1)</script >ok",
            "<scr<script>ipt>alert(1)</script>ok",
            "<script/src=//evil.example/x.js></script>ok",
            "<svg><script>alert(1)</script></svg>ok",
        ] {
            let out = clean(input);
            assert!(!out.to_lowercase().contains("<script"), "{input} → {out}");
            assert!(!out.contains("alert(1)</"), "{input} → {out}");
            assert!(out.contains("ok"), "{input} → {out}");
        }
    }

    #[test]
    fn event_handlers_are_dropped() {
        let out =
            clean(r#"<img src="cid:logo@x" onerror="alert(1)"><p onclick=x>hi</p><body onload=x>"#);
        assert!(!out.contains("onerror") && !out.contains("onclick") && !out.contains("onload"));
        assert_eq!(out, r#"<img src="/mail/INBOX/1/part/3"><p>hi</p>"#);
    }

    #[test]
    fn links_only_http_https_mailto_and_get_target_and_rel() {
        let out = clean(r#"<a href="https://example.com/a?b=c&amp;d">x</a>"#);
        assert!(
            out.contains(r#"href="https://example.com/a?b=c&amp;d""#),
            "{out}"
        );
        assert!(out.contains(r#"rel="noopener noreferrer""#), "{out}");
        assert!(out.contains(r#"target="_blank""#), "{out}");
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "java\tscript:alert(1)",
            " javascript:alert(1)",
            "&#106;avascript:alert(1)",
            "vbscript:msgbox(1)",
            "data:text/html,<script>alert(1)</script>",
            "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            "file:///etc/passwd",
            "relative/path.html",
            "/mail/INBOX/1/part/3",
            "#fragment",
        ] {
            let out = clean(&format!(r#"<a href="{bad}">x</a>"#));
            assert!(!out.contains("href"), "{bad} → {out}");
        }
        let out = clean(r#"<a href="mailto:someone@example.com">m</a>"#);
        assert!(
            out.contains(r#"href="mailto:someone@example.com""#),
            "{out}"
        );
    }

    #[test]
    fn remote_images_are_blocked_and_reported() {
        let s = sanitize_html(
            r#"<img src="https://tracker.example/p.gif" alt="logo">"#,
            ctx(false),
        );
        assert_eq!(s.html, r#"<img alt="logo">"#);
        assert!(s.has_remote_content);
        let s = sanitize_html(
            r#"<img src="https://tracker.example/p.gif" alt="logo">"#,
            ctx(true),
        );
        let proxy = ImageProxy::new(b"test secret");
        let sig = proxy.sign("https://tracker.example/p.gif");
        assert_eq!(
            s.html,
            format!(
                r#"<img src="/proxy?url=https%3A%2F%2Ftracker.example%2Fp.gif&amp;exp=0&amp;sig={sig}" alt="logo">"#
            )
        );
        assert!(s.has_remote_content);
        let s = sanitize_html(r#"<img src="//tracker.example/p.gif">"#, ctx(false));
        assert_eq!(s.html, "<img>");
        assert!(s.has_remote_content);
        let s = sanitize_html(
            r#"<table background="http://t.example/bg.png"><tr><td>x</td></tr></table>"#,
            ctx(false),
        );
        assert!(!s.html.contains("t.example"), "{}", s.html);
        assert!(s.has_remote_content);
        let s = sanitize_html(r#"<p>no images</p>"#, ctx(false));
        assert!(!s.has_remote_content);
    }

    #[test]
    fn cid_images_become_part_urls() {
        let s = sanitize_html(
            r#"<img src="cid:logo@x"><img src="CID:%3Clogo@x%3E"><img src="cid:missing@x">"#,
            ctx(false),
        );
        assert_eq!(
            s.html,
            r#"<img src="/mail/INBOX/1/part/3"><img src="/mail/INBOX/1/part/3"><img>"#
        );
        assert!(s.used_parts.contains("3"));
        assert!(!s.has_remote_content);
    }

    #[test]
    fn data_urls_only_for_raster_images() {
        let png = "data:image/png;base64,iVBORw0KGgo=";
        assert_eq!(
            clean(&format!(r#"<img src="{png}">"#)),
            format!(r#"<img src="{png}">"#)
        );
        for bad in [
            "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
            "data:text/html,hi",
            "data:image/pngx,abc",
            "data:image/png,<img src=x onerror=alert(1)>",
            "data:image/png;base64,iVBOR<script>",
            "data:image/png;charset=x,abc",
        ] {
            assert_eq!(clean(&format!(r#"<img src="{bad}">"#)), "<img>", "{bad}");
        }
    }

    #[test]
    fn url_bearing_attributes_are_removed() {
        let out = clean(
            r#"<img src="cid:logo@x" srcset="https://e.example/a.png 2x" lowsrc="http://e.example/l" dynsrc="http://e.example/d" longdesc="http://e.example/l"><blockquote cite="http://e.example/c">q</blockquote><video poster="http://e.example/p.png"></video><q cite="http://e.example">x</q>"#,
        );
        assert!(!out.contains("e.example"), "{out}");
    }

    #[test]
    fn dangerous_elements_are_gone() {
        let out = clean(
            r#"<iframe src="https://e.example">inner</iframe><object data="x.swf">o</object><embed src="x"><form action="https://e.example"><input name=a><button formaction="https://e.example">Go</button><textarea>t</textarea><select><option>s</option></select></form><base href="https://e.example/"><meta http-equiv="refresh" content="0;url=https://e.example"><link rel=stylesheet href="https://e.example/x.css"><title>T</title><style>@import url(https://e.example/x.css); body{background:url(https://e.example/b.png)}</style><math><mi>x</mi></math>"#,
        );
        assert_eq!(out, "Go");
    }

    #[test]
    fn mxss_shapes_stay_inert() {
        for input in [
            r#"<noscript><p title="</noscript><img src=x onerror=alert(1)>">"#,
            r#"<svg><iframe><a title="</iframe><img src onerror=alert(1)>">test"#,
            r#"<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"#,
            r#"<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>"#,
            r#"<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">"#,
            r#"<xmp><img src=x onerror=alert(1)></xmp>"#,
            r#"<!--><img src=x onerror=alert(1)>-->"#,
        ] {
            let out = clean(input);
            let reparsed = scraper::Html::parse_fragment(&out);
            for el in reparsed.root_element().descendent_elements() {
                for (name, _) in el.value().attrs() {
                    assert!(!name.starts_with("on"), "{input} → {out}");
                }
                assert_ne!(el.value().name(), "script", "{input} → {out}");
            }
        }
    }

    #[test]
    fn styles_keep_safe_properties_only() {
        let out =
            clean(r#"<p style="color: red; position: fixed; top: 0; font-weight: bold">x</p>"#);
        assert_eq!(out, r#"<p style="color:red;font-weight:bold">x</p>"#);
        for bad in [
            "background: url(https://e.example/a.png)",
            "background-image: url('https://e.example/a.png')",
            "width: url(https://e.example/a.png)",
            "width: expression(alert(1))",
            "color: var(--x)",
            "width: \\75 rl(https://e.example/a.png)",
            "w\\69 dth: 10px",
            "list-style-image: url(https://e.example/a.png)",
            "content: url(https://e.example/a.png)",
            "cursor: url(https://e.example/a.cur), auto",
            "border-image: url(https://e.example/a.png) 30",
            "background: image-set('https://e.example/a.png' 1x)",
            "width: u/**/rl(https://e.example/a.png)",
            "behavior: url(x.htc)",
            "-moz-binding: url(x.xml#xss)",
            "position: fixed",
            "z-index: 99999",
            "margin-top: -500px",
            "margin: 0 0 -20em 0",
            "transform: translate(0, -100px)",
        ] {
            let out = clean(&format!(r#"<p style="{bad}">x</p>"#));
            assert_eq!(out, "<p>x</p>", "{bad}");
        }
    }

    #[test]
    fn style_with_quotes_and_semicolons_splits_correctly() {
        let out = clean(r#"<p style="font-family: 'a;b', serif; color: blue">x</p>"#);
        assert_eq!(
            out,
            r#"<p style="font-family:&quot;a;b&quot; , serif;color:blue">x</p>"#
        );
        let out = clean(
            r#"<p style="font-family: 'a;background:url(https://e.example/)'; color: blue">x</p>"#,
        );
        assert!(!out.contains("e.example"), "{out}");
    }

    #[test]
    fn mail_presentation_survives() {
        let input = r##"<center><table width="600" cellpadding="4" cellspacing="0" border="0" bgcolor="#ffffff" align="center"><tr><td valign="top" align="left" bgcolor="#eeeeee"><font color="#333333" face="Arial" size="2">Hello</font></td></tr></table></center>"##;
        assert_eq!(
            clean(input),
            input
                .replace("<tr>", "<tbody><tr>")
                .replace("</table>", "</tbody></table>")
        );
    }

    #[test]
    fn no_ids_names_or_classes() {
        assert_eq!(
            clean(r#"<div id="x" class="y" name="z" data-x="1" style="color:red">t</div>"#),
            r#"<div style="color:red">t</div>"#
        );
    }

    #[test]
    fn part_url_policy_accepts_only_part_ids() {
        let p = PartUrlsOnly {
            prefix: "/mail/INBOX/1/part/".into(),
            image_proxy: None,
        };
        assert!(p.evaluate("/mail/INBOX/1/part/3").is_some());
        assert!(p.evaluate("/mail/INBOX/1/part/3.2").is_some());
        assert!(p.evaluate("/mail/INBOX/1/part/").is_none());
        assert!(p.evaluate("/mail/INBOX/1/part/3/../../x").is_none());
        assert!(p.evaluate("/logout").is_none());
        assert!(p.evaluate("x").is_none());
    }

    #[test]
    fn allowed_remote_images_go_through_the_signed_proxy_only() {
        let proxy = ImageProxy::new(b"test secret");
        // Every image-bearing attribute we keep, in odd spellings: normalized by the URL
        // parser first, so the signature covers exactly what the proxy will fetch.
        let s = sanitize_html(
            r#"<img src=" HTTP://Tracker.Example:80/a b.png?x=1&amp;y=2#f"><table background="//t.example/bg.png"><tr><td background="https://t.example/td.png">x</td></tr></table><img src="https://user:pw@t.example/c.png"><img src="http://127.0.0.1:9/x">"#,
            ctx(true),
        );
        let doc = scraper::Html::parse_fragment(&s.html);
        let mut urls = Vec::new();
        for el in doc.root_element().descendent_elements() {
            for (name, value) in el.value().attrs() {
                if name == "src" || name == "background" {
                    urls.push(value.to_string());
                }
            }
        }
        let remotes: Vec<String> = urls
            .iter()
            .map(|u| {
                proxy
                    .parse_own_url(u)
                    .unwrap_or_else(|| panic!("not ours: {u}"))
            })
            .collect();
        assert_eq!(
            remotes,
            [
                "http://tracker.example/a%20b.png?x=1&y=2#f",
                "https://t.example/bg.png",
                "https://t.example/td.png",
                // Loopback is the proxy's business (it refuses it after resolving).
                "http://127.0.0.1:9/x",
            ]
        );
        // Without a proxy, allowed remote images are still dropped.
        let mut c = ctx(true);
        c.image_proxy = None;
        let s = sanitize_html(r#"<img src="https://t.example/a.png">"#, c);
        assert_eq!(s.html, "<img>");
        assert!(s.has_remote_content);
    }

    #[test]
    fn proxy_urls_from_the_message_itself_are_refused() {
        let proxy = ImageProxy::new(b"test secret");
        let forged = format!(
            "/proxy?url=http%3A%2F%2F10.0.0.1%2F&exp=0&sig={}",
            ImageProxy::new(b"another secret").sign("http://10.0.0.1/")
        );
        let genuine = proxy.url_for("http://10.0.0.1/");
        for input in [&forged, &genuine] {
            // A sender cannot write a proxy URL, not even a validly signed one copied from
            // elsewhere: relative URLs in the message are dropped before our policy sees them.
            let out = clean(&format!(r#"<img src="{input}"><a href="{input}">x</a>"#));
            assert!(!out.contains("proxy"), "{out}");
        }
        // And the policy itself accepts only our exact shape with a valid signature.
        let p = PartUrlsOnly {
            prefix: "/mail/INBOX/1/part/".into(),
            image_proxy: Some(proxy.clone()),
        };
        assert!(p.evaluate(&genuine).is_some());
        assert!(p.evaluate(&forged).is_none());
        assert!(p.evaluate(&format!("{genuine}&x=1")).is_none());
        assert!(
            p.evaluate(&genuine.replace("10.0.0.1", "10.0.0.2"))
                .is_none()
        );
        assert!(
            p.evaluate(&genuine.replace("%3A", ":")).is_none(),
            "non-canonical"
        );
    }

    #[test]
    fn proxy_signatures() {
        let a = ImageProxy::new(b"one");
        let b = ImageProxy::new(b"two");
        let sig = a.sign("https://e.example/x.png");
        assert_eq!(sig.len(), 64);
        assert!(a.verify("https://e.example/x.png", &sig));
        assert!(!a.verify("https://e.example/x.png ", &sig));
        assert!(!b.verify("https://e.example/x.png", &sig));
        assert!(!a.verify("https://e.example/x.png", "zz"));
        assert!(!a.verify("https://e.example/x.png", ""));
        assert!(!format!("{a:?}").contains(&sig));
        // Bound to a user and an expiry: another user's or another expiry's URL fails.
        let alice = a.bound("alice@x.test", 1_000);
        let sig = alice.sign("https://e.example/x.png");
        assert!(alice.verify("https://e.example/x.png", &sig));
        assert!(
            !a.bound("bob@x.test", 1_000)
                .verify("https://e.example/x.png", &sig)
        );
        assert!(
            !a.bound("alice@x.test", 2_000)
                .verify("https://e.example/x.png", &sig)
        );
        assert!(!a.verify("https://e.example/x.png", &sig));
        assert!(
            alice
                .url_for("https://e.example/x.png")
                .contains("&exp=1000&sig=")
        );
    }

    #[test]
    fn kept_styles_never_come_out_with_escapes() {
        for input in [
            "color:#content-type = 3cscript = 3e : multipart",
            "font-family: 'a&quot;b'",
            "width: 3e",
            "width: 3e-x",
            "width: 1E-5px",
            "margin:0e. 0 10px 0",
            "margin: 1e5px",
            "color: red\u{1}",
        ] {
            let out = clean(&format!(r#"<p style="{input}">x</p>"#));
            assert_eq!(out, "<p>x</p>", "{input}");
        }
        for fine in [
            "color: #3e3e3e",
            "width: 3em",
            "height: 2ex",
            "font-family: \"Helvetica Neue\", Arial",
            "font-family: 微软雅黑",
            "margin: 0 auto",
            "font-weight: bold !important",
        ] {
            let out = clean(&format!(r#"<p style="{fine}">x</p>"#));
            assert!(out.contains("style="), "{fine} was dropped: {out}");
            assert!(!out.contains('\\'), "{fine}: {out}");
        }
    }

    #[test]
    fn presentational_attributes_keep_only_their_own_shapes() {
        let out = clean(
            r##"<table width="100%" border="0" cellpadding="4" bgcolor="#FFF" align="center"><tr><td width="50%" valign="top" colspan="2" nowrap><font face="Arial, Helvetica" size="+1" color="red">x</font></td></tr></table>"##,
        );
        for kept in [
            r#"width="100%""#,
            r##"bgcolor="#FFF""##,
            r#"face="Arial, Helvetica""#,
            r#"size="+1""#,
            r#"colspan="2""#,
            "nowrap",
        ] {
            assert!(out.contains(kept), "{kept} lost: {out}");
        }
        let out = clean(
            r#"<table width="javascript:alert(1)" border="expression(alert(1))" bgcolor="url(http://e.example/)" align="&quot;onmouseover=alert(1)"><tr><td><font face="x;background:url(http://e.example/)" lang="en&quot;x">y</font></td></tr></table>"#,
        );
        assert!(
            !out.contains("alert") && !out.contains("e.example"),
            "{out}"
        );
        assert!(!out.contains("lang=") && !out.contains("face="), "{out}");
    }

    #[test]
    fn css_helpers() {
        assert_eq!(strip_css_comments("a/* x */b/* unterminated"), "ab");
        assert_eq!(
            split_declarations("a:1; b:'x;y'; c:f(1;2)"),
            vec!["a:1", " b:'x;y'", " c:f(1;2)"]
        );
        assert_eq!(
            clean_style("color: red; margin: 0 -1px"),
            Some("color: red".into())
        );
        assert_eq!(
            clean_style("position: fixed; COLOR: red"),
            Some("COLOR: red".into())
        );
        assert_eq!(clean_style("background:url(x)"), None);
    }
}
