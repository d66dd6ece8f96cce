//! A browser for the provider's login pages, as far as a test without a
//! real one needs: a cookie jar, HTTPS pinned to the server's CA, redirects
//! seen rather than followed, and the forms filled in. (The pages in a real
//! Chromium are the UI tests' job.)

use std::path::Path;
use std::sync::Arc;

use reqwest::redirect::Policy;
use reqwest::StatusCode;

use crate::{pinned_tls, TestUser};

/// One answer of the provider, as a browser got it.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: StatusCode,
    /// Where a 303 sends the browser, made absolute.
    pub location: Option<String>,
    pub body: String,
    pub csp: Option<String>,
}

impl Page {
    /// The value of the hidden field `name` of the page's forms.
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no hidden {name} on the page:\n{}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_owned()
    }

    /// The key the code page asks for.
    pub fn key(&self) -> String {
        let marker = "<dd class=\"key\">";
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no key on the page:\n{}", self.body))
            + marker.len();
        self.body[start..start + 4].to_owned()
    }

    /// The text of the page's `h1`.
    pub fn heading(&self) -> String {
        let start = self.body.find("<h1>").expect("a heading") + 4;
        let end = self.body[start..].find("</h1>").unwrap() + start;
        self.body[start..end].to_owned()
    }

    /// The path a form of this page posts to, ending in `step`.
    pub fn action(&self, step: &str) -> String {
        let tail = format!("/{step}\"");
        let end = self
            .body
            .find(&tail)
            .unwrap_or_else(|| panic!("no {step} form:\n{}", self.body))
            + tail.len()
            - 1;
        let start = self.body[..end].rfind("action=\"").unwrap() + "action=\"".len();
        self.body[start..end].to_owned()
    }

    /// The query parameter `name` of the redirect, if any.
    pub fn redirect_param(&self, name: &str) -> Option<String> {
        let url = url::Url::parse(self.location.as_deref()?).ok()?;
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// A browser with its own cookies.
pub struct Browser {
    http: reqwest::Client,
    base: String,
}

impl Browser {
    /// A fresh browser (no cookies) for the server at `base`
    /// (`https://localhost:PORT`), trusting the CA in `ca_pem`.
    pub fn new(base: &str, ca_pem: &Path) -> Browser {
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(pinned_tls(ca_pem))
            .https_only(true)
            .redirect(Policy::none())
            .cookie_provider(Arc::new(reqwest::cookie::Jar::default()))
            .build()
            .unwrap();
        Browser {
            http,
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        }
    }

    async fn page(&self, response: reqwest::Response) -> Page {
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let location = header("location").map(|l| self.absolute(&l));
        let csp = header("content-security-policy");
        Page {
            status,
            location,
            csp,
            body: response.text().await.unwrap(),
        }
    }

    pub async fn get(&self, url: &str) -> Page {
        let response = self.http.get(self.absolute(url)).send().await.unwrap();
        self.page(response).await
    }

    pub async fn post(&self, url: &str, fields: &[(&str, &str)]) -> Page {
        let response = self
            .http
            .post(self.absolute(url))
            .form(fields)
            .send()
            .await
            .unwrap();
        self.page(response).await
    }

    /// Follows redirects within the provider; stops at the first page, or
    /// at a redirect that leaves it (to the client).
    pub async fn visit(&self, url: &str) -> Page {
        let mut page = self.get(url).await;
        while let Some(next) = page.location.clone().filter(|l| l.starts_with(&self.base)) {
            page = self.get(&next).await;
        }
        page
    }

    /// On the password page: types the citizen's username and password.
    pub async fn password(&self, page: &Page, user: &TestUser) -> Page {
        self.post(
            &page.action("password"),
            &[
                ("csrf", &page.hidden("csrf")),
                ("username", &user.username),
                ("password", &user.password),
            ],
        )
        .await
    }

    /// On the code page: types `code`.
    pub async fn code(&self, page: &Page, code: &str) -> Page {
        self.post(
            &page.action("code"),
            &[("csrf", &page.hidden("csrf")), ("code", code)],
        )
        .await
    }

    /// On the consent page: agrees, or not.
    pub async fn consent(&self, page: &Page, allow: bool) -> Page {
        let decision = if allow { "allow" } else { "deny" };
        self.post(
            &page.action("consent"),
            &[("csrf", &page.hidden("csrf")), ("decision", decision)],
        )
        .await
    }

    /// From the password page to the page after the right code.
    pub async fn log_in(&self, page: &Page, user: &TestUser) -> Page {
        let code_page = self.password(page, user).await;
        assert_eq!(code_page.status, StatusCode::OK, "{}", code_page.body);
        let key = code_page.key();
        self.code(&code_page, &user.code(&key)).await
    }
}
