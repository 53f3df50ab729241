//! `/admin/accounts/`: every account and API token, and the staff's
//! buttons that disable, enable, make staff or remove a sign-in; the same
//! changes as `voxdash user …`, through the same store function.

use std::collections::HashMap;

use maud::{html, Markup};

use super::{
    csv_reply, csv_requested, frame, layout, local_time, pager, sort_all, tables_of, Frame,
    PER_PAGE,
};
use crate::i18n::{fill, t, Lang};
use crate::store::accounts::{self, Account, AccountChange, TokenInfo};
use crate::store::StoreError;
use crate::web::app::App;
use crate::web::context::Ctx;
use crate::web::decode::page_of;
use crate::web::error::WebError;
use crate::web::flash::Flash;
use crate::web::local_path::LocalPath;
use crate::web::numbers;
use crate::web::reply::Reply;
use crate::web::table::{Cell, Table, Tables};

/// `GET /admin/accounts/[?sort=&page=&format=&table=]`: a platform has
/// thousands of learner accounts, so the list comes a page at a time.
pub(crate) fn page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let tables = tables_of(ctx)?;
    let page = page_of(ctx)?;
    let conn = app.store.conn()?;
    let listed = accounts::list(&conn)?;
    let tokens = accounts::tokens(&conn, None)?;
    let l = ctx.lang;
    let tz = app.config.local.tz;
    let mut all = vec![
        account_table(l, &listed, &tokens),
        token_table(l, tz, &tokens),
    ];
    if let Some(id) = csv_requested(ctx)? {
        return csv_reply(&tables, all, id);
    }
    sort_all(&tables, &mut all)?;
    let frame = frame(app, ctx, "accounts.title");
    let by_name: HashMap<&str, &Account> =
        listed.iter().map(|a| (a.username.as_str(), a)).collect();
    Ok(Reply::Html(accounts_page(
        &frame,
        (&tables, &all, page),
        &by_name,
    )))
}

/// One row per account; its first cell is the username the buttons name.
fn account_table(l: Lang, listed: &[Account], tokens: &[TokenInfo]) -> Table {
    let mut table = Table::new(
        "accounts",
        &[
            ("username", t(l, "accounts.username")),
            ("display_name", t(l, "accounts.display_name")),
            ("staff", t(l, "accounts.staff")),
            ("sign_in", t(l, "accounts.sign_in")),
            ("state", t(l, "accounts.state")),
            ("tokens", t(l, "accounts.tokens")),
        ],
    );
    let yes_no = |b: bool| {
        let code = if b { "yes" } else { "no" };
        Cell::text(code).shown_as(t(l, &format!("word.{code}")))
    };
    let mut live: HashMap<&str, i64> = HashMap::new();
    for token in tokens.iter().filter(|t| t.revoked_at.is_none()) {
        *live.entry(token.username.as_str()).or_default() += 1;
    }
    for a in listed {
        let live = live.get(a.username.as_str()).copied().unwrap_or(0);
        let state = if a.disabled { "disabled" } else { "active" };
        let sign_in = if a.has_password { "password" } else { "none" };
        table.row(vec![
            Cell::code(&a.username),
            Cell::text(a.display_name.clone().unwrap_or_default()),
            yes_no(a.is_staff),
            Cell::text(sign_in).shown_as(t(l, &format!("accounts.sign_in.{sign_in}"))),
            Cell::text(state).shown_as(t(l, &format!("accounts.{state}"))),
            Cell::int(live),
        ]);
    }
    table
}

/// Every API token, revoked ones included (never the token itself).
fn token_table(l: Lang, tz: chrono_tz::Tz, tokens: &[TokenInfo]) -> Table {
    let mut table = Table::new(
        "tokens",
        &[
            ("id", t(l, "accounts.token")),
            ("username", t(l, "accounts.username")),
            ("created", t(l, "accounts.created")),
            ("revoked", t(l, "accounts.revoked")),
        ],
    );
    for token in tokens {
        let revoked = match token.revoked_at {
            Some(at) => Cell::int(at).shown_as(local_time(at, tz)),
            None => Cell::opt(None, 0),
        };
        table.row(vec![
            Cell::id(token.id),
            Cell::code(&token.username),
            Cell::int(token.created_at).shown_as(local_time(token.created_at, tz)),
            revoked,
        ]);
    }
    table
}

/// The change a button asks for, by its form value.
fn change_of(value: &str) -> Result<AccountChange, WebError> {
    match value {
        "disable" => Ok(AccountChange::Disable),
        "enable" => Ok(AccountChange::Enable),
        "staff-on" => Ok(AccountChange::Staff(true)),
        "staff-off" => Ok(AccountChange::Staff(false)),
        "remove" => Ok(AccountChange::RemoveSignIn),
        other => Err(WebError::bad(
            "change",
            format!("{other:?} is not one of disable, enable, staff-on, staff-off, remove"),
        )),
    }
}

/// `POST /admin/accounts/` (`user`, `change`): applies the change and
/// comes back to the list with what happened. Removing a sign-in asks for
/// a confirmation first (`confirm=yes`).
pub(crate) fn change(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    ctx.require_staff()?;
    let form = ctx.form()?;
    ctx.check_csrf(&form)?;
    let user = form
        .get("user")
        .filter(|u| !u.is_empty())
        .ok_or_else(|| WebError::bad("user", "missing"))?;
    let change = change_of(form.get("change").map_or("", String::as_str))?;
    let confirmed = form.get("confirm").map(String::as_str) == Some("yes");
    if change == AccountChange::RemoveSignIn && !confirmed {
        return Ok(Reply::Html(confirm_remove(app, ctx, user)));
    }
    let now = app.config.clock.now_micros();
    let flash = match accounts::change_account(&app.store.conn()?, user, change, now) {
        Ok(_) => {
            log::info!(
                "account {user:?}: {change:?} by {}",
                ctx.account.as_ref().map_or("?", |a| &a.username)
            );
            Flash::AccountChanged(change)
        }
        // The only refusal: it would leave nobody who can sign in as staff.
        Err(StoreError::Invalid(_)) => Flash::AccountRefused,
        Err(StoreError::NotFound(_)) => {
            return Err(WebError::NotFound(format!("user {user:?} not found")))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Reply::Redirect(
        LocalPath::of("/admin/accounts/"),
        vec![flash.cookie(app.secure_cookies)],
    ))
}

/// What removing a sign-in does, and the buttons to go on or go back.
fn confirm_remove(app: &App, ctx: &Ctx, user: &str) -> Markup {
    let l = ctx.lang;
    let frame = frame(app, ctx, "accounts.title");
    let content = html! {
        section.confirm {
            h1 { (fill(l, "accounts.remove_confirm", &[("user", user)])) }
            p { (t(l, "accounts.remove_what")) }
            form method="post" action="/admin/accounts/" {
                input type="hidden" name="csrf_token" value=(frame.csrf.unwrap_or(""));
                input type="hidden" name="user" value=(user);
                input type="hidden" name="change" value="remove";
                input type="hidden" name="confirm" value="yes";
                button.danger type="submit" { (t(l, "accounts.remove")) }
                " " a.button href="/admin/accounts/" { (t(l, "confirm.cancel")) }
            }
        }
    };
    layout(&frame, content)
}

/// `/admin/accounts/`.
fn accounts_page(
    frame: &Frame,
    (tables, all, page): (&Tables, &[Table], u64),
    by_name: &HashMap<&str, &Account>,
) -> Markup {
    let l = frame.lang;
    let total = all[0].rows.len() as u64;
    let csrf = frame.csrf.unwrap_or("");
    let button = |user: &str, change: &str, label: &str, danger: bool| {
        html! {
            form.inline method="post" action="/admin/accounts/" {
                input type="hidden" name="csrf_token" value=(csrf);
                input type="hidden" name="user" value=(user);
                input type="hidden" name="change" value=(change);
                button type="submit" class=[danger.then_some("danger")] { (t(l, label)) }
            }
        }
    };
    let actions = |row: &[crate::web::table::Cell]| {
        let name = row[0].exported.as_str();
        let Some(a) = by_name.get(name) else {
            return html! {};
        };
        html! {
            @if a.disabled { (button(name, "enable", "accounts.enable", false)) }
            @else { (button(name, "disable", "accounts.disable", true)) }
            " "
            @if a.is_staff { (button(name, "staff-off", "accounts.staff_off", false)) }
            @else { (button(name, "staff-on", "accounts.staff_on", false)) }
            @if a.has_password { " " (button(name, "remove", "accounts.remove", true)) }
        }
    };
    layout(
        frame,
        html! {
            h1 { (t(l, "accounts.title")) }
            p.hint { (t(l, "accounts.hint")) }
            section #accounts {
                h2 { (t(l, "accounts.accounts")) " (" (numbers::whole(total as i64)) ")" }
                (tables.html_with(&all[0], Some(all[0].page(page, PER_PAGE)), &actions))
                @if total > u64::from(PER_PAGE) { (pager(frame, &tables.base(), page, total)) }
            }
            section #api-tokens {
                h2 { (t(l, "accounts.tokens_title")) }
                (tables.html(&all[1], None))
            }
        },
    )
}
