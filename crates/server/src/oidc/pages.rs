//! The provider's login pages, as the citizen's browser shows them: the
//! password, the code for the key the server picked, consent, and error
//! pages. Plain HTML forms (no JavaScript), Danish and English, labelled
//! fields, errors tied to their field and named in the title, and the name
//! of the service that asked on every page. Text is escaped by maud.

use maud::{html, Markup, DOCTYPE};
use time::OffsetDateTime;

use super::web::{APP_WAIT_SCRIPT_PATH, FLOW_PATH, LOGOUT_PATH, STYLESHEET_PATH};
use crate::error::ApiError;
use crate::service::oidc::{AppLinkView, FlowView, PageError, PromptView};
use crate::service::oidc_logout::LogoutParams;
use crate::store::Stage;
use kodekort_proto::ErrorCode;

/// The language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Da,
    En,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Da => "da",
            Lang::En => "en",
        }
    }

    /// `da` or `en`; anything else is Danish, the default.
    pub fn parse(text: &str) -> Lang {
        if text == "en" {
            Lang::En
        } else {
            Lang::Da
        }
    }

    /// The first of `ui_locales` (space-separated BCP 47 tags) that is
    /// Danish or English, else Danish.
    pub fn from_ui_locales(ui_locales: Option<&str>) -> Lang {
        ui_locales
            .unwrap_or("")
            .split(' ')
            .find_map(
                |tag| match tag.split('-').next()?.to_ascii_lowercase().as_str() {
                    "da" => Some(Lang::Da),
                    "en" => Some(Lang::En),
                    _ => None,
                },
            )
            .unwrap_or_default()
    }

    fn other(self) -> Lang {
        match self {
            Lang::Da => Lang::En,
            Lang::En => Lang::Da,
        }
    }

    fn texts(self) -> &'static Texts {
        match self {
            Lang::Da => &DA,
            Lang::En => &EN,
        }
    }
}

/// Every text of the pages, in one language.
struct Texts {
    language_name: &'static str,
    switch_to: &'static str,
    product: &'static str,
    asked_by: &'static str,
    login_title: &'static str,
    username: &'static str,
    password: &'static str,
    continue_: &'static str,
    cancel: &'static str,
    code_title: &'static str,
    card: &'static str,
    key: &'static str,
    code: &'static str,
    code_hint: &'static str,
    answer_before: &'static str,
    attempts_left: &'static str,
    leaving_counts: &'static str,
    consent_title: &'static str,
    consent_intro: &'static str,
    consent_name: &'static str,
    consent_sub: &'static str,
    consent_once: &'static str,
    allow: &'static str,
    deny: &'static str,
    error_prefix: &'static str,
    error_title: &'static str,
    unknown_client: &'static str,
    redirect_not_registered: &'static str,
    request_gone: &'static str,
    logout_not_allowed: &'static str,
    logout_title: &'static str,
    logout_explained: &'static str,
    log_out: &'static str,
    logged_out_title: &'static str,
    logged_out_next: &'static str,
    start_again: &'static str,
    invalid_credentials: &'static str,
    invalid_code: &'static str,
    malformed_code: &'static str,
    challenge_expired: &'static str,
    too_many_attempts: &'static str,
    wait_until: &'static str,
    too_many_at_once: &'static str,
    card_locked: &'static str,
    card_used_up: &'static str,
    invalid_username: &'static str,
    try_later: &'static str,
    app_title: &'static str,
    app_explained: &'static str,
    app_open: &'static str,
    app_opened: &'static str,
    app_continue: &'static str,
}

const DA: Texts = Texts {
    language_name: "Dansk",
    switch_to: "Read this page in English",
    product: "Kodekort",
    asked_by: "{client} beder dig logge på med Kodekort.",
    login_title: "Log på {client}",
    username: "Brugernavn",
    password: "Adgangskode",
    continue_: "Fortsæt",
    cancel: "Annullér og gå tilbage til {client}",
    code_title: "Indtast koden til nøgle {key}",
    card: "Nøglekort",
    key: "Nøgle",
    code: "Kode (6 cifre)",
    code_hint: "Find nøglen på dit nøglekort, og skriv koden ud for den.",
    answer_before: "Svar inden kl. {time} (UTC).",
    attempts_left: "Forsøg tilbage før ventetid eller spærring: {n}.",
    leaving_counts: "Hvis du forlader dette trin, tæller det som et mislykket forsøg.",
    consent_title: "Vil du dele med {client}?",
    consent_intro: "{client} vil modtage:",
    consent_name: "dit navn",
    consent_sub: "et nummer, der kun kender dig hos {client}",
    consent_once: "Vi spørger kun første gang.",
    allow: "Ja, del og fortsæt",
    deny: "Nej, gå tilbage",
    error_prefix: "Fejl",
    error_title: "Login kan ikke fortsætte",
    unknown_client: "Tjenesten, der sendte dig hertil, er ikke kendt af Kodekort.",
    redirect_not_registered: "Tjenesten, der sendte dig hertil, bad om at få dig sendt tilbage til en adresse, den ikke har registreret. Af hensyn til din sikkerhed sender vi dig ikke videre.",
    request_gone: "Dette login er afsluttet eller udløbet, eller det blev startet i en anden browser.",
    logout_not_allowed: "Tjenesten bad om at få dig sendt til en adresse, den ikke har registreret. Af hensyn til din sikkerhed sender vi dig ikke videre.",
    logout_title: "Log ud af Kodekort?",
    logout_explained: "Du bliver logget ud af Kodekort i denne browser. Næste gang en tjeneste beder dig logge på, skal du bruge en kode fra dit kort.",
    log_out: "Log ud",
    logged_out_title: "Du er logget ud af Kodekort",
    logged_out_next: "Du kan lukke vinduet eller gå tilbage til tjenesten.",
    start_again: "Gå tilbage til tjenesten, og start forfra.",
    invalid_credentials: "Brugernavnet eller adgangskoden er forkert.",
    invalid_code: "Koden passer ikke til nøglen på dit kort.",
    malformed_code: "En kode har 6 cifre.",
    challenge_expired: "Kodeforespørgslen er udløbet. Log på igen for at få en ny nøgle.",
    too_many_attempts: "For mange forkerte forsøg.",
    wait_until: "Du kan prøve igen kl. {time} (UTC).",
    too_many_at_once: "For mange forsøg på én gang. Vent lidt, og prøv igen.",
    card_locked: "Dit nøglekort er spærret efter for mange forkerte forsøg. Kontakt support for at få det låst op eller få et nyt kort.",
    card_used_up: "Alle koder på dit kort er brugt. Kontakt support for at få et nyt kort.",
    invalid_username: "Et brugernavn har 1 til 64 tegn: a-z, 0-9, '.', '_' eller '-'.",
    try_later: "Noget gik galt. Prøv igen senere.",
    app_title: "Eller brug Kodekort-appen på denne computer",
    app_explained: "Appen viser den samme nøgle. Skriv koden dér, så fortsætter denne side af sig selv. Brug kun appen på den computer, hvor du selv startede dette login.",
    app_open: "Fortsæt i Kodekort-appen",
    app_opened: "Login er åbnet i Kodekort-appen.",
    app_continue: "Jeg har skrevet koden i appen – fortsæt",
};

const EN: Texts = Texts {
    language_name: "English",
    switch_to: "Læs siden på dansk",
    product: "Kodekort",
    asked_by: "{client} asks you to log in with Kodekort.",
    login_title: "Log in to {client}",
    username: "Username",
    password: "Password",
    continue_: "Continue",
    cancel: "Cancel and go back to {client}",
    code_title: "Type the code for key {key}",
    card: "Code card",
    key: "Key",
    code: "Code (6 digits)",
    code_hint: "Find the key on your code card and type the code next to it.",
    answer_before: "Answer before {time} (UTC).",
    attempts_left: "Attempts left before a wait or a lock: {n}.",
    leaving_counts: "If you leave this step it counts as a failed attempt.",
    consent_title: "Share with {client}?",
    consent_intro: "{client} will receive:",
    consent_name: "your name",
    consent_sub: "a number that identifies you to {client} only",
    consent_once: "We ask only the first time.",
    allow: "Yes, share and continue",
    deny: "No, go back",
    error_prefix: "Error",
    error_title: "This login cannot continue",
    unknown_client: "The service that sent you here is not known to Kodekort.",
    redirect_not_registered: "The service that sent you here asked to have you sent back to an address it has not registered. For your safety we do not send you on.",
    request_gone: "This login has ended or expired, or it was started in another browser.",
    logout_not_allowed: "The service asked to have you sent to an address it has not registered. For your safety we do not send you on.",
    logout_title: "Log out of Kodekort?",
    logout_explained: "You will be logged out of Kodekort in this browser. The next time a service asks you to log in, you will need a code from your card.",
    log_out: "Log out",
    logged_out_title: "You are logged out of Kodekort",
    logged_out_next: "You can close the window or go back to the service.",
    start_again: "Go back to the service and start again.",
    invalid_credentials: "The username or password is wrong.",
    invalid_code: "The code does not match the key on your card.",
    malformed_code: "A code has 6 digits.",
    challenge_expired: "This code prompt has expired. Log in again to get a new key.",
    too_many_attempts: "Too many failed attempts.",
    wait_until: "You can try again at {time} (UTC).",
    too_many_at_once: "Too many attempts at once. Wait a moment and try again.",
    card_locked: "Your code card is locked after too many failed attempts. Contact support to unlock it or get a new card.",
    card_used_up: "Every code on your card has been used. Contact support for a new card.",
    invalid_username: "A username has 1 to 64 characters: a-z, 0-9, '.', '_' or '-'.",
    try_later: "Something went wrong. Try again later.",
    app_title: "Or use the Kodekort app on this computer",
    app_explained: "The app shows the same key. Type the code there, and this page goes on by itself. Use the app only on the computer where you started this login yourself.",
    app_open: "Continue in the Kodekort app",
    app_opened: "The login is open in the Kodekort app.",
    app_continue: "I have typed the code in the app – continue",
};

fn clock(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{:02}:{:02}", at.hour(), at.minute())
}

/// What a refusal says on the page, in plain words, with the end of the
/// wait it started, if any.
fn refusal_text(t: &Texts, error: &ApiError) -> String {
    let text = match error.code {
        ErrorCode::InvalidCredentials => t.invalid_credentials,
        ErrorCode::InvalidCode => t.invalid_code,
        ErrorCode::InvalidRequest => t.malformed_code,
        ErrorCode::ChallengeExpired | ErrorCode::ChallengeNotFound | ErrorCode::ChallengeUsed => {
            t.challenge_expired
        }
        ErrorCode::TooManyAttempts if error.locked_until.is_none() => t.too_many_at_once,
        ErrorCode::TooManyAttempts => t.too_many_attempts,
        ErrorCode::CardLocked => t.card_locked,
        ErrorCode::CardUsedUp | ErrorCode::NoCard => t.card_used_up,
        ErrorCode::InvalidUsername => t.invalid_username,
        _ => t.try_later,
    };
    match error.locked_until {
        Some(until) => format!("{text} {}", t.wait_until.replace("{time}", &clock(until))),
        None => text.to_owned(),
    }
}

/// The frame every page shares: language, title, the product, and the
/// switch to the other language (a plain link: no script needed).
fn frame(lang: Lang, title: &str, switch_href: Option<String>, body: Markup) -> Markup {
    let t = lang.texts();
    let other = lang.other();
    html! {
        (DOCTYPE)
        html lang=(lang.as_str()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – " (t.product) }
                link rel="stylesheet" href=(STYLESHEET_PATH);
            }
            body {
                header {
                    p.product { (t.product) }
                    @if let Some(href) = switch_href {
                        nav aria-label=(t.language_name) {
                            a href=(href) lang=(other.as_str()) hreflang=(other.as_str()) { (t.switch_to) }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The title of a page that shows an error starts with "Error:", so a
/// screen reader hears it as the page loads.
fn titled(t: &Texts, error: &Option<String>, title: &str) -> String {
    match error {
        Some(_) => format!("{}: {title}", t.error_prefix),
        None => title.to_owned(),
    }
}

/// One step of the login, as a page.
pub fn flow_page(view: &FlowView) -> Markup {
    let t = view.lang.texts();
    let client = view.client_name.as_str();
    let action = |step: &str| format!("{FLOW_PATH}/{}/{step}", view.request_id);
    let switch = Some(format!(
        "{FLOW_PATH}/{}?lang={}",
        view.request_id,
        view.lang.other().as_str()
    ));
    let error = view.error.as_ref().map(|e| refusal_text(t, e));
    let cancel = html! {
        form.cancel method="post" action=(action("cancel")) {
            input type="hidden" name="csrf" value=(view.csrf);
            button type="submit" { (t.cancel.replace("{client}", client)) }
        }
    };
    match (view.stage, &view.prompt) {
        (Stage::Code, Some(prompt)) => {
            let title = t.code_title.replace("{key}", &prompt.key);
            frame(
                view.lang,
                &titled(t, &error, &title),
                switch,
                html! {
                    h1 { (title) }
                    p { (t.asked_by.replace("{client}", client)) }
                    (prompt_facts(t, prompt))
                    form method="post" action=(action("code") ) {
                        input type="hidden" name="csrf" value=(view.csrf);
                        @if let Some(message) = &error {
                            p #error .error role="alert" { (message) }
                        }
                        label for="code" { (t.code) }
                        p #code-hint .hint { (t.code_hint) }
                        input #code name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
                            maxlength="16" required autofocus
                            aria-describedby=(if error.is_some() { "error code-hint" } else { "code-hint" })
                            aria-invalid=[error.as_ref().map(|_| "true")];
                        p.warning { (t.leaving_counts) }
                        button type="submit" { (t.continue_) }
                    }
                    @if let Some(link) = &view.app_link {
                        (app_section(t, &view.request_id, link))
                    }
                    (cancel)
                },
            )
        }
        (Stage::Consent, _) => {
            let title = t.consent_title.replace("{client}", client);
            frame(
                view.lang,
                &title,
                switch,
                html! {
                    h1 { (title) }
                    p { (t.consent_intro.replace("{client}", client)) }
                    ul {
                        @if view.shares_name { li { (t.consent_name) } }
                        li { (t.consent_sub.replace("{client}", client)) }
                    }
                    p { (t.consent_once) }
                    form method="post" action=(action("consent")) {
                        input type="hidden" name="csrf" value=(view.csrf);
                        button type="submit" name="decision" value="allow" { (t.allow) }
                        button type="submit" name="decision" value="deny" { (t.deny) }
                    }
                },
            )
        }
        _ => {
            let title = t.login_title.replace("{client}", client);
            frame(
                view.lang,
                &titled(t, &error, &title),
                switch,
                html! {
                    h1 { (title) }
                    p { (t.asked_by.replace("{client}", client)) }
                    form method="post" action=(action("password")) {
                        input type="hidden" name="csrf" value=(view.csrf);
                        @if let Some(message) = &error {
                            p #error .error role="alert" { (message) }
                        }
                        label for="username" { (t.username) }
                        // After a refusal the username stays, and focus goes
                        // to the password, which carries the error too.
                        input #username name="username" type="text" autocomplete="username"
                            autocapitalize="none" spellcheck="false" maxlength="64" required
                            value=[view.username.as_deref()]
                            autofocus[view.username.is_none()]
                            aria-describedby=[error.as_ref().map(|_| "error")]
                            aria-invalid=[error.as_ref().map(|_| "true")];
                        label for="password" { (t.password) }
                        input #password name="password" type="password" autocomplete="current-password"
                            maxlength="256" required
                            autofocus[view.username.is_some()]
                            aria-describedby=[error.as_ref().map(|_| "error")]
                            aria-invalid=[error.as_ref().map(|_| "true")];
                        button type="submit" { (t.continue_) }
                    }
                    (cancel)
                },
            )
        }
    }
}

/// "Continue in the Kodekort app": the link, and a plain link that loads
/// the page again for a browser without scripts. The script asks whether
/// the login moved on, and loads the page when it did.
fn app_section(t: &Texts, request_id: &str, link: &AppLinkView) -> Markup {
    let page = format!("{FLOW_PATH}/{request_id}");
    html! {
        section.app aria-labelledby="app-title"
            data-status-url=(format!("{page}/app-status")) data-page-url=(page) {
            h2 #app-title { (t.app_title) }
            p { (t.app_explained) }
            @if link.opened {
                p.status { (t.app_opened) }
            }
            p { a.button href=(link.href) { (t.app_open) } }
            p { a href=(page) { (t.app_continue) } }
        }
        script src=(APP_WAIT_SCRIPT_PATH) defer {}
    }
}

fn prompt_facts(t: &Texts, prompt: &PromptView) -> Markup {
    html! {
        dl.prompt {
            dt { (t.card) } dd { (prompt.serial) }
            dt { (t.key) } dd.key { (prompt.key) }
        }
        p { (t.answer_before.replace("{time}", &clock(prompt.expires_at))) }
        p { (t.attempts_left.replace("{n}", &prompt.attempts_left.to_string())) }
    }
}

/// A page for a request that cannot go on and cannot be sent back.
pub fn error_page(error: PageError, lang: Lang) -> Markup {
    let t = lang.texts();
    let reason = match error {
        PageError::UnknownClient => t.unknown_client,
        PageError::RedirectUriNotRegistered => t.redirect_not_registered,
        PageError::RequestGone => t.request_gone,
        PageError::LogoutNotAllowed => t.logout_not_allowed,
    };
    frame(
        lang,
        &format!("{}: {}", t.error_prefix, t.error_title),
        None,
        html! {
            h1 { (t.error_title) }
            p role="alert" { (reason) }
            p { (t.start_again) }
        },
    )
}

/// Asks before logging out, when the request does not prove that a
/// client sent it. The form carries the request on, with its CSRF value.
pub fn logout_confirm_page(lang: Lang, csrf: &str, params: &LogoutParams) -> Markup {
    let t = lang.texts();
    let hidden = [
        ("client_id", &params.client_id),
        ("post_logout_redirect_uri", &params.post_logout_redirect_uri),
        ("state", &params.state),
    ];
    frame(
        lang,
        t.logout_title,
        None,
        html! {
            h1 { (t.logout_title) }
            p { (t.logout_explained) }
            form method="post" action=(LOGOUT_PATH) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="ui_locales" value=(lang.as_str());
                @for (name, value) in hidden {
                    @if let Some(value) = value {
                        input type="hidden" name=(name) value=(value);
                    }
                }
                button type="submit" { (t.log_out) }
            }
        },
    )
}

/// After a logout with nowhere registered to go back to.
pub fn logged_out_page(lang: Lang) -> Markup {
    let t = lang.texts();
    frame(
        lang,
        t.logged_out_title,
        None,
        html! {
            h1 { (t.logged_out_title) }
            p { (t.logged_out_next) }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_locales_pick_the_first_danish_or_english_tag() {
        assert_eq!(Lang::from_ui_locales(Some("en-GB da")), Lang::En);
        assert_eq!(Lang::from_ui_locales(Some("de fr-CA DA")), Lang::Da);
        assert_eq!(Lang::from_ui_locales(Some("de")), Lang::Da);
        assert_eq!(Lang::from_ui_locales(None), Lang::Da);
    }

    #[test]
    fn error_pages_never_show_an_address() {
        for error in [
            PageError::UnknownClient,
            PageError::RedirectUriNotRegistered,
            PageError::RequestGone,
            PageError::LogoutNotAllowed,
        ] {
            for lang in [Lang::Da, Lang::En] {
                let page = error_page(error, lang).into_string();
                assert!(page.contains(&format!("<html lang=\"{}\">", lang.as_str())));
                assert!(!page.contains("http"), "{page}");
                assert_eq!(page.matches("<h1>").count(), 1);
            }
        }
    }
}
