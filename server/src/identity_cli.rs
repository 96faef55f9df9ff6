//! `baton user …` and `baton token …`: managing people and tokens from the
//! command line, straight on the database (whoever can run these can read
//! the database anyway, so they act as the trusted principal `cli`).
//!
//! Secrets are printed once, to stdout, and never logged.

use anyhow::Context;
use chrono::{Duration as TimeDelta, Utc};
use sea_orm::DatabaseConnection;

use crate::cli::{DbArgs, TokenCommand, UserCommand};
use crate::domain::identity::{self, NewToken, NewUser};
use crate::domain::principal::{Principal, parse_role, role_word};
use crate::domain::{Stamp, sessions};
use crate::error::AppError;

async fn open(db: &DbArgs) -> anyhow::Result<DatabaseConnection> {
    let conn = crate::db::connect(&db.url()).await?;
    crate::db::migrate(&conn).await?;
    Ok(conn)
}

fn stamp() -> Stamp {
    let p = Principal::cli();
    Stamp {
        actor: p.id,
        actor_role: p.role,
        now: Utc::now(),
        origin: format!("cli-{}", std::process::id()),
        notify_email: false,
    }
}

fn role(s: &str) -> anyhow::Result<entity::role::Role> {
    parse_role(s)
        .with_context(|| format!("'{s}' is not a role: use viewer, submitter, reviewer or admin"))
}

/// Parses `30d`, `12h`, `90m`, `3600s` (or plain seconds).
pub fn parse_duration(s: &str) -> anyhow::Result<TimeDelta> {
    let s = s.trim();
    let (n, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: i64 = n
        .parse()
        .with_context(|| format!("'{s}' is not a duration like 30d, 12h, 90m or 3600s"))?;
    let d = match unit {
        "s" => TimeDelta::seconds(n),
        "m" => TimeDelta::minutes(n),
        "h" => TimeDelta::hours(n),
        "d" => TimeDelta::days(n),
        _ => anyhow::bail!("'{s}': the unit must be s, m, h or d"),
    };
    anyhow::ensure!(d > TimeDelta::zero(), "'{s}': a lifetime must be positive");
    Ok(d)
}

pub async fn user(cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add(args) => {
            let db = open(&args.db).await?;
            let stamp = stamp();
            let (user, _) = identity::create_user(
                &db,
                &stamp,
                NewUser {
                    name: args.name,
                    email: args.email,
                    role: role(&args.role)?,
                },
            )
            .await
            .map_err(AppError::into_anyhow)?;
            let (code, expires) = sessions::issue_code(&db, &stamp, user.id)
                .await
                .map_err(AppError::into_anyhow)?;
            println!(
                "added {} ({}); the link works once, until {}",
                user.name,
                role_word(user.role),
                expires.to_rfc3339()
            );
            println!(
                "sign in: {}",
                sessions::sign_in_url(&args.public_url, &code)
            );
        }
        UserCommand::List(args) => {
            let db = open(&args.db).await?;
            let users = identity::list_users(&db, args.all)
                .await
                .map_err(AppError::into_anyhow)?;
            println!(
                "{:<36}  {:<24} {:<10} {:<8} email",
                "id", "name", "role", "status"
            );
            for u in users {
                println!(
                    "{:<36}  {:<24} {:<10} {:<8} {}",
                    u.id,
                    u.name,
                    role_word(u.role),
                    if u.disabled { "disabled" } else { "active" },
                    u.email.as_deref().unwrap_or("-")
                );
            }
        }
        UserCommand::Disable(args) => {
            let db = open(&args.db).await?;
            let u = identity::user_by_name(&db, &args.name)
                .await
                .map_err(AppError::into_anyhow)?;
            identity::disable_user(&db, &stamp(), u.id)
                .await
                .map_err(AppError::into_anyhow)?;
            println!(
                "disabled {}: their tokens and sessions no longer work",
                u.name
            );
        }
        UserCommand::Link(args) => {
            let db = open(&args.db).await?;
            let u = identity::user_by_name(&db, &args.name)
                .await
                .map_err(AppError::into_anyhow)?;
            let (code, expires) = sessions::issue_code(&db, &stamp(), u.id)
                .await
                .map_err(AppError::into_anyhow)?;
            println!("the link works once, until {}", expires.to_rfc3339());
            println!(
                "sign in: {}",
                sessions::sign_in_url(&args.public_url, &code)
            );
        }
    }
    Ok(())
}

pub async fn token(cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create(args) => {
            let db = open(&args.db).await?;
            let user_id = match &args.user {
                Some(name) => Some(
                    identity::user_by_name(&db, name)
                        .await
                        .map_err(AppError::into_anyhow)?
                        .id,
                ),
                None => None,
            };
            let service_name = match user_id {
                Some(_) => None,
                None => Some(args.service.clone().unwrap_or_else(|| args.name.clone())),
            };
            let issued = identity::create_token(
                &db,
                &stamp(),
                NewToken {
                    name: args.name,
                    role: role(&args.role)?,
                    user_id,
                    service_name,
                    expires_in: args.expires_in.as_deref().map(parse_duration).transpose()?,
                },
            )
            .await
            .map_err(AppError::into_anyhow)?;
            let t = &issued.token;
            eprintln!(
                "created token {} ({}, {}); the secret below is shown this once",
                t.name,
                t.id,
                role_word(t.role)
            );
            println!("{}", issued.secret);
        }
        TokenCommand::List(args) => {
            let db = open(&args.db).await?;
            let now = Utc::now();
            println!(
                "{:<36}  {:<24} {:<10} {:<24} {:<8} last used",
                "id", "name", "role", "owner", "status"
            );
            for t in identity::list_tokens(&db, args.all)
                .await
                .map_err(AppError::into_anyhow)?
            {
                let owner = match t.user_id {
                    Some(uid) => identity::get_user(&db, uid)
                        .await
                        .map_err(AppError::into_anyhow)?
                        .map_or_else(|| uid.to_string(), |u| u.name),
                    None => format!("service:{}", t.service_name.as_deref().unwrap_or("?")),
                };
                let status = if t.revoked_at.is_some() {
                    "revoked"
                } else if t.expires_at.is_some_and(|e| e <= now) {
                    "expired"
                } else {
                    "active"
                };
                println!(
                    "{:<36}  {:<24} {:<10} {:<24} {:<8} {}",
                    t.id,
                    t.name,
                    role_word(t.role),
                    owner,
                    status,
                    t.last_used_at
                        .map_or_else(|| "never".into(), |d| d.to_rfc3339())
                );
            }
        }
        TokenCommand::Revoke(args) => {
            let db = open(&args.db).await?;
            let id = args
                .id
                .parse()
                .with_context(|| format!("'{}' is not a token id (a UUID)", args.id))?;
            let (t, _) = identity::revoke_token(&db, &stamp(), id)
                .await
                .map_err(AppError::into_anyhow)?;
            println!("revoked {} ({})", t.name, t.id);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use chrono::Duration as TimeDelta;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("30d").ok(), Some(TimeDelta::days(30)));
        assert_eq!(parse_duration("12h").ok(), Some(TimeDelta::hours(12)));
        assert_eq!(parse_duration("90m").ok(), Some(TimeDelta::minutes(90)));
        assert_eq!(parse_duration("3600").ok(), Some(TimeDelta::hours(1)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("3 weeks").is_err());
        assert!(parse_duration("d").is_err());
    }
}
