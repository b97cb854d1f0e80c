//! A real browser for the end-to-end tests: Debian's headless Chromium driven over WebDriver (chromedriver and
//! fantoccini), with a screenshot of each page under `target/screenshots/<test>/` — and the browser tests.
//!
//! `make test` installs `chromium` and `chromium-driver` when they are missing (`deploy/dev/ensure-chromium.sh`).
//! Without them a browser test fails, saying so; `BANGBAN_SKIP_BROWSER=1` skips the browser tests instead
//! ([`Browser::start`] answers `None`).
//!
//! A test reads like what a person does:
//!
//! ```ignore
//! let Some(browser) = Browser::start("my_test").await else { return };
//! let app = TestApp::spawn().await;
//! browser.goto(&app.url("/login")).await;
//! browser.click(r#"button[data-sub="staff-371600-assistant-1"]"#).await;
//! browser.wait_for_path("/console").await;
//! browser.screenshot("console").await; // target/screenshots/my_test/01-console.png
//! ```
//!
//! Every helper panics with the page's address and a screenshot of it (`NN-failed.png`) when it cannot do
//! what it was asked, so a test needs no `unwrap`s. [`Browser::client`] is the fantoccini client for the rest.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use fantoccini::{
    Client, ClientBuilder, Locator,
    actions::{InputSource, KeyAction, KeyActions},
    elements::Element,
    key::Key,
};
use serde_json::{Value, json};

use crate::support::TestApp;

/// Debian's Chromium (package `chromium`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver (package `chromium-driver`), of the same version as [`CHROMIUM`].
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Set to `1` to skip the browser tests (they fail when no browser is installed).
pub const SKIP_ENV: &str = "BANGBAN_SKIP_BROWSER";
/// The viewport of a desktop screen, in CSS pixels (what a browser starts with).
pub const DESKTOP: (u32, u32) = (1280, 900);
/// The viewport of a phone (an iPhone 12–15, in CSS pixels), for [`Browser::phone`].
pub const PHONE: (u32, u32) = (390, 844);
/// How long [`Browser::wait_for`] and the other waits wait before failing.
pub const WAIT: Duration = Duration::from_secs(10);

/// How often the waits look again.
const POLL: Duration = Duration::from_millis(50);
/// How long chromedriver may take to start.
const DRIVER_START: Duration = Duration::from_secs(15);

/// A headless Chromium session of one test, on its own chromedriver and a fresh profile (no cookies, no cache).
/// Dropping it ends the browser and chromedriver and deletes the profile.
pub struct Browser {
    client: Client,
    /// Dropped after the client (fields drop in order): quits chromedriver and Chromium.
    _driver: Driver,
    /// `<target>/screenshots/<test>/`.
    shots: PathBuf,
    /// Screenshots taken so far (their number prefixes the file name).
    taken: AtomicUsize,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium session on it, with the [`DESKTOP`] viewport and
    /// `zh-CN` as the language; screenshots go to `<target>/screenshots/<test>/` (emptied first).
    ///
    /// `None` when `BANGBAN_SKIP_BROWSER=1` (the test should return); panics, saying how to install it, when
    /// Chromium or chromedriver is missing.
    pub async fn start(test: &str) -> Option<Browser> {
        if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
            eprintln!("{test}: skipped, {SKIP_ENV}=1");
            return None;
        }
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "{test}: the browser tests need {path} (Debian package {package}); install it with \
                 `bash deploy/dev/ensure-chromium.sh` (make test does), or set {SKIP_ENV}=1 to skip these tests"
            );
        }
        let shots = screenshot_root().join(test);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap_or_else(|e| panic!("creating {}: {e}", shots.display()));
        // From here on a panic drops the driver, which ends chromedriver.
        let driver = Driver::start();
        let client = match connect(&driver).await {
            Ok(client) => client,
            Err(e) => panic!("{test}: starting a Chromium session on chromedriver at {}: {e}", driver.addr),
        };
        let browser = Browser { client, _driver: driver, shots, taken: AtomicUsize::new(0) };
        browser.desktop().await;
        Some(browser)
    }

    /// The fantoccini client, for what the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `url` (e.g. `app.url("/login")`) and waits until the page has loaded.
    pub async fn goto(&self, url: &str) {
        if let Err(e) = self.client.goto(url).await {
            panic!("{}", self.failure(&format!("opening {url}: {e}")).await);
        }
    }

    /// The address of the page shown.
    pub async fn current_url(&self) -> String {
        self.client.current_url().await.expect("the current URL").to_string()
    }

    /// The path of the page shown (`/console`), without the query.
    pub async fn current_path(&self) -> String {
        self.client.current_url().await.expect("the current URL").path().to_string()
    }

    /// Waits until the page shown is at `path` (e.g. after a form posts and the answer redirects).
    pub async fn wait_for_path(&self, path: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let now = self.current_path().await;
            if now == path {
                return;
            }
            if Instant::now() > deadline {
                panic!("{}", self.failure(&format!("waiting {WAIT:?} for {path}, still at {now}")).await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the address of the page shown contains `part` (e.g. `?ok=saved`, or a query after a form
    /// that reloads the same path: [`Browser::wait_for_path`] cannot tell that the new page has come).
    pub async fn wait_for_url_containing(&self, part: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let now = self.current_url().await;
            if now.contains(part) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "{}",
                    self.failure(&format!("waiting {WAIT:?} for an address with {part:?}, still at {now}")).await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until an element matches `css` and returns it.
    pub async fn wait_for(&self, css: &str) -> Element {
        match self.client.wait().at_most(WAIT).every(POLL).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("{}", self.failure(&format!("waiting {WAIT:?} for `{css}`: {e}")).await),
        }
    }

    /// The element `css` matches, now (no wait).
    #[allow(dead_code, reason = "part of the harness; the tests so far wait for what they find")]
    pub async fn find(&self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("{}", self.failure(&format!("no `{css}`: {e}")).await),
        }
    }

    /// Every element `css` matches (maybe none).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.expect("find elements")
    }

    /// Whether an element matches `css` now.
    pub async fn exists(&self, css: &str) -> bool {
        !self.find_all(css).await.is_empty()
    }

    /// Clicks the element `css` matches (waiting for it); a link or submit button then loads its page.
    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        if let Err(e) = element.click().await {
            panic!("{}", self.failure(&format!("clicking `{css}`: {e}")).await);
        }
    }

    /// Types `text` into the field `css` matches, replacing what it held.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.wait_for(css).await;
        if let Err(e) = async {
            field.clear().await?;
            field.send_keys(text).await
        }
        .await
        {
            panic!("{}", self.failure(&format!("typing into `{css}`: {e}")).await);
        }
    }

    /// Chooses the option with `value` in the `<select>` `css` matches.
    pub async fn select(&self, css: &str, value: &str) {
        let select = self.wait_for(css).await;
        if let Err(e) = select.select_by_value(value).await {
            panic!("{}", self.failure(&format!("choosing {value:?} in `{css}`: {e}")).await);
        }
    }

    /// Submits the form `form_css` matches as a person does: by clicking its first submit button.
    pub async fn submit(&self, form_css: &str) {
        self.wait_for(form_css).await;
        let result = async { self.client.form(Locator::Css(form_css)).await?.submit().await }.await;
        if let Err(e) = result {
            panic!("{}", self.failure(&format!("submitting `{form_css}`: {e}")).await);
        }
    }

    /// The visible text of the element `css` matches (waiting for it).
    pub async fn text(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        element.text().await.unwrap_or_else(|e| panic!("the text of `{css}`: {e}"))
    }

    /// The visible text of the whole page.
    pub async fn page_text(&self) -> String {
        self.text("body").await
    }

    /// An attribute of the element `css` matches (waiting for it).
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let element = self.wait_for(css).await;
        element.attr(name).await.unwrap_or_else(|e| panic!("attribute {name} of `{css}`: {e}"))
    }

    /// Presses and releases `key` on the keyboard (into whatever has the focus).
    pub async fn press(&self, key: Key) {
        let key: char = key.into();
        let keys =
            KeyActions::new("keyboard".into()).then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key });
        self.client.perform_actions(keys).await.expect("keyboard input");
    }

    /// Whether the element with the focus matches `css`.
    pub async fn focused(&self, css: &str) -> bool {
        let script = "return document.activeElement !== null && document.activeElement.matches(arguments[0]);";
        self.client.execute(script, vec![json!(css)]).await.expect("reading the focus") == Value::Bool(true)
    }

    /// Presses Tab until the element `css` matches has the focus, at most `max` times; answers how many it took.
    /// Fails when the element cannot be reached with the keyboard.
    pub async fn tab_to(&self, css: &str, max: usize) -> usize {
        for presses in 1..=max {
            self.press(Key::Tab).await;
            if self.focused(css).await {
                return presses;
            }
        }
        panic!("{}", self.failure(&format!("`{css}` did not get the focus in {max} Tab presses")).await);
    }

    /// Makes the page's viewport `width` × `height` CSS pixels (what media queries see; headless Chromium keeps
    /// room for a browser frame, so the window is made larger by that much).
    pub async fn resize(&self, (width, height): (u32, u32)) {
        self.client.set_window_size(width, height).await.expect("resizing the window");
        let (w, h) = self.viewport().await;
        if (w, h) != (width, height) {
            self.client
                .set_window_size((2 * width).saturating_sub(w), (2 * height).saturating_sub(h))
                .await
                .expect("resizing the window");
        }
    }

    /// The size of the page's viewport in CSS pixels (`innerWidth` × `innerHeight`).
    pub async fn viewport(&self) -> (u32, u32) {
        let size = self.client.execute("return [window.innerWidth, window.innerHeight];", vec![]).await;
        let size = size.expect("reading the viewport");
        let px = |i: usize| size[i].as_u64().and_then(|v| u32::try_from(v).ok()).expect("a size in pixels");
        (px(0), px(1))
    }

    /// A phone-sized viewport ([`PHONE`]); the page re-lays itself out at once (no reload needed).
    pub async fn phone(&self) {
        self.resize(PHONE).await;
    }

    /// Back to the [`DESKTOP`] viewport.
    pub async fn desktop(&self) {
        self.resize(DESKTOP).await;
    }

    /// Saves a PNG of the viewport as `<target>/screenshots/<test>/<nn>-<name>.png` (`nn` counts the shots of
    /// the test, so the files sort in the order taken) and answers its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        self.save(name, &png)
    }

    /// As [`Browser::screenshot`], of the whole page: the viewport is made as tall as the page for the shot.
    pub async fn screenshot_full_page(&self, name: &str) -> PathBuf {
        let before = self.viewport().await;
        let script = "return Math.ceil(document.documentElement.scrollHeight);";
        let height = self.client.execute(script, vec![]).await.expect("reading the page height");
        let height = height.as_u64().and_then(|h| u32::try_from(h).ok()).expect("a height in pixels");
        if height <= before.1 {
            return self.screenshot(name).await;
        }
        self.resize((before.0, height)).await;
        let path = self.screenshot(name).await;
        self.resize(before).await;
        path
    }

    fn save(&self, name: &str, png: &[u8]) -> PathBuf {
        let n = self.taken.fetch_add(1, Ordering::Relaxed) + 1;
        let path = self.shots.join(format!("{n:02}-{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// What a failed helper says: `what`, the address shown and a screenshot of it.
    async fn failure(&self, what: &str) -> String {
        let url = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_else(|e| format!("? ({e})"));
        let shot = match self.client.screenshot().await {
            Ok(png) => self.save("failed", &png).display().to_string(),
            Err(e) => format!("none ({e})"),
        };
        format!("browser: {what}\n  at {url}\n  screenshot {shot}")
    }
}

/// `<target>/screenshots`: `CARGO_TARGET_DIR` when set (now or at build time), else the workspace's `target`.
pub fn screenshot_root() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| option_env!("CARGO_TARGET_DIR").map(PathBuf::from))
        .map_or_else(|| workspace.join("target"), |dir| workspace.join(dir));
    target.join("screenshots")
}

/// A chromedriver of one test, with the profile directory its Chromium uses. Dropping it asks chromedriver to
/// quit (which closes Chromium first), kills it if it has not after 5 s, and deletes the profile.
struct Driver {
    child: Child,
    addr: SocketAddr,
    /// The Chromium profile (`--user-data-dir`).
    profile: PathBuf,
}

impl Driver {
    /// Starts chromedriver on a port of the system's choosing (`--port=0`: no race for a free port), and learns
    /// the port from what it prints. Its later output goes to the test's stderr.
    fn start() -> Driver {
        let mut child = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e}"));
        let stdout = child.stdout.take().expect("chromedriver's stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // "ChromeDriver was started successfully on port 41337."
                if let Some(port) = line.split("started successfully on port ").nth(1) {
                    if let (Some(tx), Ok(port)) = (tx.take(), port.trim_end_matches('.').parse::<u16>()) {
                        let _ = tx.send(port);
                    }
                } else {
                    eprintln!("chromedriver: {line}");
                }
            }
        });
        // Owned by the guard at once, so that a panic from here on ends chromedriver.
        let mut driver = Driver { child, addr: SocketAddr::from(([127, 0, 0, 1], 0)), profile: fresh_profile_dir() };
        match rx.recv_timeout(DRIVER_START) {
            Ok(port) => driver.addr.set_port(port),
            Err(_) => panic!("chromedriver did not say which port it listens on within {DRIVER_START:?}"),
        }
        driver
    }
}

impl Drop for Driver {
    /// Blocking: a drop cannot await, and these are local, quick exchanges.
    fn drop(&mut self) {
        if self.addr.port() != 0
            && let Ok(mut stream) = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1))
        {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let request = format!("GET /shutdown HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.addr);
            if stream.write_all(request.as_bytes()).is_ok() {
                let _ = stream.read_to_end(&mut Vec::new());
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// An empty directory of its own for a Chromium profile.
fn fresh_profile_dir() -> PathBuf {
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let n = STARTED.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("bangban-chromium-{}-{n}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// A headless Chromium session on `driver`, once chromedriver says it is ready.
async fn connect(driver: &Driver) -> Result<Client, String> {
    // reqwest is built without a TLS provider of its own (the workspace picks ring); the session needs none.
    bangban_platform::runtime::install_crypto_provider();
    let (addr, profile) = (driver.addr, &driver.profile);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("HTTP client");
    let status = format!("http://{addr}/status");
    let deadline = Instant::now() + DRIVER_START;
    loop {
        let ready = match http.get(&status).send().await {
            Ok(res) => res.json::<Value>().await.is_ok_and(|v| v["value"]["ready"] == true),
            Err(_) => false,
        };
        if ready {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("chromedriver was not ready within {DRIVER_START:?}"));
        }
        tokio::time::sleep(POLL).await;
    }
    let (width, height) = DESKTOP;
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--disable-gpu",
                format!("--window-size={width},{height}"),
                "--lang=zh-CN",
                format!("--user-data-dir={}", profile.display()),
                "--no-first-run",
                "--no-default-browser-check",
            ],
            // `--lang` sets the interface; this sets Accept-Language, which the pages are chosen by.
            "prefs": { "intl.accept_languages": "zh-CN,zh" },
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://{addr}"))
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn the_login_page_signs_a_demo_identity_in_and_shows_the_console() {
    let Some(browser) = Browser::start("the_login_page_signs_a_demo_identity_in_and_shows_the_console").await else {
        return;
    };
    let app = TestApp::spawn().await;
    let identity = r#"button[data-sub="staff-371600-assistant-1"]"#;

    // The office chooser shows each office's identities (the city's first).
    browser.goto(&app.url("/login")).await;
    browser.wait_for(identity).await;
    browser.select("#office", "371625").await;
    browser.submit("form.inline").await;
    browser.wait_for_url_containing("office=371625").await;
    browser.wait_for(r#"button[data-sub="staff-371625-assistant-1"]"#).await;
    assert!(!browser.exists(identity).await, "only the county's identities");
    browser.select("#office", "371600").await;
    browser.submit("form.inline").await;
    browser.wait_for_url_containing("office=371600").await;
    browser.wait_for(identity).await;
    assert!(browser.find_all("ul.identities button[data-sub]").await.len() > 1, "the office's roster is offered");
    assert_eq!(browser.attr(identity, "data-role").await.as_deref(), Some("assistant"));
    browser.screenshot("login").await;
    browser.screenshot_full_page("login-whole").await;

    browser.click(identity).await;
    browser.wait_for_path("/console").await;
    // The session cookie is Secure and Chromium keeps it over http://127.0.0.1 (a secure context to it), so the
    // console knows who is signed in.
    let session = browser.client().get_named_cookie("bb_session").await.expect("the session cookie");
    assert_eq!((session.secure(), session.http_only()), (Some(true), Some(true)));
    assert!(browser.text("header.top .who").await.contains("staff-371600-assistant-1"), "the top bar names who");
    assert!(browser.page_text().await.contains("帮办员"), "and their role");
    browser.screenshot("console").await;

    browser.click(r#"header.top form[action="/auth/logout"] button"#).await;
    browser.wait_for_path("/login").await;
    assert!(!browser.exists("header.top").await, "no one is signed in");
    let cookies = browser.client().get_all_cookies().await.expect("cookies");
    assert!(cookies.iter().all(|c| c.name() != "bb_session"), "the session cookie is gone: {cookies:?}");
    browser.screenshot("signed-out").await;
    // Signed out means out: the console sends the browser back to the login page.
    browser.goto(&app.url("/console")).await;
    assert_eq!(browser.current_path().await, "/login");

    // The same with the keyboard alone: Tab to the identity, Enter signs in.
    browser.goto(&app.url("/login?office=371600")).await;
    let presses = browser.tab_to(identity, 40).await;
    assert!(presses > 1, "the identity is reached in page order, after the office chooser ({presses} presses)");
    browser.screenshot("login-keyboard-focus").await;
    browser.press(Key::Enter).await;
    browser.wait_for_path("/console").await;
    assert!(browser.text("header.top .who").await.contains("staff-371600-assistant-1"));

    // The login page on a phone, and back.
    browser.goto(&app.url("/login?office=371600")).await;
    browser.phone().await;
    assert_eq!(browser.viewport().await, PHONE);
    browser.screenshot("login-phone").await;
    browser.desktop().await;
    assert_eq!(browser.viewport().await, DESKTOP);
}

/// Signs out whoever is signed in (if anyone), then signs in as the demo identity `sub` of `office`.
async fn sign_in_as(browser: &Browser, app: &TestApp, office: &str, sub: &str) {
    browser.goto(&app.url("/console")).await;
    if browser.exists(r#"header.top form[action="/auth/logout"] button"#).await {
        browser.click(r#"header.top form[action="/auth/logout"] button"#).await;
        browser.wait_for_path("/login").await;
    }
    browser.goto(&app.url(&format!("/login?office={office}"))).await;
    browser.click(&format!(r#"button[data-sub="{sub}"]"#)).await;
    browser.wait_for_path("/console").await;
    assert!(browser.text("header.top .who").await.contains(sub), "signed in as {sub}");
}

/// Loads `url` again until `css` is on it (the platform works on the bus between two page loads).
async fn reload_until(browser: &Browser, url: &str, css: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        browser.goto(url).await;
        if browser.exists(css).await {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "`{css}` never appeared on {url}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Opens a task's transition in the officer's inbox, fills it and sends it.
async fn take_step(browser: &Browser, task: &str, action: &str, fields: &[(&str, &str)]) {
    // After a step the page is `…?ok=done`; load it without that first, so the wait below sees this step's answer
    // and not the previous one's.
    let url = browser.current_url().await;
    if let Some((page, _)) = url.split_once('?') {
        browser.goto(page).await;
    }
    let details = format!(r#"article[data-task="{task}"] details[data-action="{action}"]"#);
    browser.click(&format!("{details} summary")).await;
    for (name, value) in fields {
        browser.fill(&format!(r#"{details} [name="{name}"]"#), value).await;
    }
    browser.screenshot(&format!("step-{action}")).await;
    browser.submit(&format!("{details} form")).await;
    browser.wait_for_url_containing("ok=done").await;
}

#[tokio::test]
async fn a_case_from_acceptance_to_rating_in_the_browser() {
    let Some(browser) = Browser::start("a_case_from_acceptance_to_rating_in_the_browser").await else {
        return;
    };
    let app = TestApp::spawn_with_evaluation().await;
    const COUNTY: &str = "371625";
    // The office's admin reads what the pages did through the API.
    let staff = app.token(bangban_gateway::auth::Role::OfficeAdmin, COUNTY, None);
    let api = |path: String| {
        let (http, url, staff) = (app.http.clone(), app.url(&path), staff.clone());
        async move { http.get(url).bearer_auth(staff).send().await.unwrap().json::<Value>().await.unwrap() }
    };

    // The window's specialist accepts a case with the new-case form.
    sign_in_as(&browser, &app, COUNTY, "staff-371625-assistant-1").await;
    browser.screenshot("ledger").await;
    browser.click(r#"header.top nav a[href="/console/cases/new"]"#).await;
    browser.wait_for_path("/console/cases/new").await;
    browser.fill("#applicant_name", "滨州市某某新材料有限公司").await;
    browser.fill("#credit_code", "91440300708461136T").await;
    browser.fill("#phone", "13812341234").await;
    browser.fill("#contact_person", "王经理").await;
    browser.fill("#project_name", "年产5万吨新材料项目").await;
    browser.select("#category", "industrial").await;
    browser.select("#office", COUNTY).await;
    browser.select("#project_office", COUNTY).await;
    browser.screenshot("new-case").await;
    browser.submit(r#"form[action="/console/cases"]"#).await;
    browser.wait_for_url_containing("ok=created").await;
    let case_path = browser.current_path().await;
    let case_id = case_path.rsplit('/').next().unwrap().to_string();
    assert!(browser.page_text().await.contains("专员联系卡"), "the contact card");
    browser.screenshot("case-accepted").await;
    let case = api(format!("/api/v1/cases/{case_id}")).await;
    let specialist = case["specialist_id"].as_str().unwrap().to_string();
    let applicant = case["applicant"]["id"].as_str().unwrap().to_string();

    // The case's specialist publishes the plan (confirming the dialog); the Gantt chart shows it.
    sign_in_as(&browser, &app, COUNTY, &specialist).await;
    let case_url = app.url(&case_path);
    reload_until(&browser, &case_url, r#"form[action$="/publish"]"#).await;
    browser.fill("#note", "方案已与服务对象确认").await;
    browser.click(r#"form[action$="/publish"] button[type="submit"]"#).await;
    browser.client().accept_alert().await.expect("the confirmation dialog");
    browser.wait_for_url_containing("ok=published").await;
    reload_until(&browser, &case_url, r#"[data-status="dispatched"]"#).await;
    browser.wait_for("svg.bb-gantt").await;
    assert!(browser.page_text().await.contains("关键"), "the critical path is marked");
    browser.screenshot_full_page("dossier-gantt").await;

    // A unit officer of the county receives, reviews and approves an item from the inbox.
    let tasks = api(format!("/api/v1/cases/{case_id}/tasks")).await;
    let task = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["unit_office"] == COUNTY && t["status"] == "dispatched")
        .expect("a county task dispatched")
        .clone();
    let (task_id, unit) = (task["id"].as_str().unwrap(), task["unit_code"].as_str().unwrap());
    sign_in_as(&browser, &app, COUNTY, &format!("officer-{unit}")).await;
    browser.wait_for(&format!(r#"article[data-task="{task_id}"]"#)).await;
    browser.screenshot("officer-inbox").await;
    take_step(&browser, task_id, "receive", &[]).await;
    take_step(&browser, task_id, "start_review", &[]).await;
    take_step(&browser, task_id, "approve", &[("number", "建字第371625202600123号")]).await;
    assert!(browser.exists(&format!(r#"article[data-task="{task_id}"] [data-status="approved"]"#)).await);
    browser.screenshot("approved").await;

    // The specialist records that the result was collected.
    sign_in_as(&browser, &app, COUNTY, &specialist).await;
    browser.goto(&case_url).await;
    browser.submit(&format!(r#"tr[data-task="{task_id}"] form[action$="/transition"]"#)).await;
    browser.wait_for_url_containing("ok=done").await;

    // The applicant sees it on their case and rates it.
    sign_in_as(&browser, &app, COUNTY, &format!("applicant-{applicant}")).await;
    browser.click(&format!(r#"a[href="{case_path}"]"#)).await;
    browser.wait_for_path(&case_path).await;
    let form = format!(r#"tr[data-task="{task_id}"] form.rating"#);
    reload_until(&browser, &case_url, &form).await;
    assert!(browser.exists(&format!(r#"tr[data-task="{task_id}"] [data-status="result_collected"]"#)).await);
    browser.screenshot_full_page("applicant-case").await;
    browser.click(&format!(r#"{form} input[name="level"][value="4"]"#)).await;
    browser.fill(&format!(r#"{form} input[name="comment"]"#), "办事高效，谢谢").await;
    browser.submit(&form).await;
    browser.wait_for_url_containing("ok=rated").await;
    reload_until(&browser, &case_url, &format!(r#"tr[data-task="{task_id}"] .mark.ok"#)).await;
    assert!(!browser.exists(&form).await, "rated once: the form is gone");
    browser.screenshot("rated").await;
    browser.phone().await;
    browser.screenshot_full_page("applicant-case-phone").await;
    browser.desktop().await;
    let ratings = api(format!("/api/v1/evaluations?case_id={case_id}")).await;
    assert_eq!(ratings["items"][0]["level"], 4, "{ratings}");

    // The office admin's dashboard.
    sign_in_as(&browser, &app, COUNTY, "staff-371625-office_admin-1").await;
    browser.wait_for("svg.bb-bar-chart").await;
    browser.screenshot_full_page("dashboard").await;
}
