//! `/login/` and `/logout/`: sign-in with a throttle on failures, sign-out
//! as a POST with a CSRF token.

use maud::{html, Markup};

use super::{frame, layout, Frame};
use crate::accounts;
use crate::i18n::t;
use crate::store::accounts as account_store;
use crate::web::app::App;
use crate::web::context::{Ctx, SESSION_COOKIE};
use crate::web::error::WebError;
use crate::web::local_path::LocalPath;
use crate::web::reply::{set_cookie, Reply};
use cookie::SameSite;

/// Name of the cookie holding the sign-in form's CSRF token (there is no
/// session yet to hold it: the form and the cookie must carry the same value).
const LOGIN_COOKIE: &str = "voxdash_login";

pub(crate) fn login_page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    let next = LocalPath::or(
        ctx.query.get("next").map(String::as_str),
        "/audio/dashboard/",
    );
    login_form(app, ctx, false, &next)
}

/// The sign-in form with a new CSRF token, also set as a cookie.
fn login_form(app: &App, ctx: &Ctx, failed: bool, next: &LocalPath) -> Result<Reply, WebError> {
    let token = accounts::new_token();
    let cookie = set_cookie(
        LOGIN_COOKIE,
        token.clone(),
        "/login/",
        SameSite::Strict,
        3600,
        app.secure_cookies,
    );
    Ok(Reply::HtmlWithCookies(
        login_view(
            &frame(app, ctx, "login.title"),
            failed,
            next.as_str(),
            &token,
        ),
        vec![cookie],
    ))
}

pub(crate) fn login(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    let form = ctx.form()?;
    let sent = form.get("csrf_token").map(String::as_str).unwrap_or("");
    let expected = ctx
        .cookies
        .get(LOGIN_COOKIE)
        .map(String::as_str)
        .unwrap_or("");
    if expected.is_empty() || !accounts::same_secret(expected, sent) {
        return Err(WebError::Forbidden(
            "the sign-in form expired; open the sign-in page again".into(),
        ));
    }
    let username =
        crate::rules::normalize_username(form.get("username").map(String::as_str).unwrap_or(""));
    let username = username.as_str();
    let password = form.get("password").map(String::as_str).unwrap_or("");
    let next = LocalPath::or(form.get("next").map(String::as_str), "/audio/dashboard/");
    // Throttled by the name's key, so `Staff1` and `staff1` count as one.
    let keys = app
        .sign_ins
        .keys(&crate::rules::username_key(username), ctx.remote);
    app.sign_ins.check(&keys)?;
    let conn = app.store.conn()?;
    let found = account_store::password_hash(&conn, username)?;
    let matches = accounts::check_password(password, found.as_ref().map(|(_, h)| h.as_str()));
    let Some((account, _)) = found.clone().filter(|_| matches) else {
        // A name that is no account is often a password typed in the
        // wrong box: the log gets only a short digest of it.
        match &found {
            Some((account, _)) => log::info!("failed sign-in for {:?}", account.username),
            None => log::info!(
                "failed sign-in for an unknown name (digest {})",
                &accounts::token_digest(username)[..12]
            ),
        }
        app.sign_ins.failed(&keys);
        return login_form(app, ctx, true, &next);
    };
    app.sign_ins.succeeded(&keys);
    let token = accounts::new_token();
    let now = app.config.clock.now_micros();
    let week = 7 * 86_400;
    account_store::create_web_session(
        &conn,
        &accounts::token_digest(&token),
        account.id,
        &accounts::new_token(),
        now,
        now + week * 1_000_000,
    )?;
    let cookie = set_cookie(
        SESSION_COOKIE,
        token,
        "/",
        SameSite::Lax,
        week,
        app.secure_cookies,
    );
    let spent = set_cookie(
        LOGIN_COOKIE,
        String::new(),
        "/login/",
        SameSite::Strict,
        0,
        app.secure_cookies,
    );
    Ok(Reply::Redirect(next, vec![cookie, spent]))
}

pub(crate) fn logout_page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    if ctx.account.is_none() {
        return Ok(Reply::Redirect(LocalPath::of("/login/"), Vec::new()));
    }
    Ok(Reply::Html(logout_view(&frame(app, ctx, "nav.logout"))))
}

pub(crate) fn logout(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    if ctx.account.is_some() {
        ctx.check_csrf(&ctx.form()?)?;
        if let Some(token) = ctx.cookies.get(SESSION_COOKIE) {
            let conn = app.store.conn()?;
            account_store::delete_web_session(
                &conn,
                &accounts::token_digest(token),
                app.config.clock.now_micros(),
            )?;
        }
    }
    let clear = set_cookie(
        SESSION_COOKIE,
        String::new(),
        "/",
        SameSite::Lax,
        0,
        app.secure_cookies,
    );
    Ok(Reply::Redirect(LocalPath::of("/login/"), vec![clear]))
}

/// `/login/`; `token` is the sign-in form's CSRF token (also in a cookie).
fn login_view(frame: &Frame, failed: bool, next: &str, token: &str) -> Markup {
    let l = frame.lang;
    layout(
        frame,
        html! {
            h1 { (t(l, "login.title")) }
            @if failed { p.error { (t(l, "login.failed")) } }
            form.login method="post" action="/login/" {
                input type="hidden" name="next" value=(next);
                input type="hidden" name="csrf_token" value=(token);
                label { (t(l, "login.username")) input type="text" name="username" autofocus; }
                label { (t(l, "login.password")) input type="password" name="password"; }
                button type="submit" { (t(l, "login.title")) }
            }
        },
    )
}

/// `GET /logout/`: signing out is a POST (with a CSRF token), so a link or
/// an image elsewhere cannot sign anyone out; this page offers the button.
fn logout_view(frame: &Frame) -> Markup {
    let l = frame.lang;
    layout(
        frame,
        html! {
            h1 { (t(l, "nav.logout")) }
            form method="post" action="/logout/" {
                input type="hidden" name="csrf_token" value=(frame.csrf.unwrap_or(""));
                button type="submit" { (t(l, "nav.logout")) }
            }
        },
    )
}
