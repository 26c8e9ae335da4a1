//! The session store: tower-sessions' SQLite or PostgreSQL store, whichever backend
//! [`Db`] holds. Sessions live in the database so that every instance sharing it knows every
//! login (no sticky sessions needed); their data is sealed by the cookie key, not by this
//! store.

use async_trait::async_trait;
use tower_sessions::{
    ExpiredDeletion, SessionStore,
    session::{Id, Record},
    session_store,
};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use super::Db;

/// The session store for a [`Db`].
#[derive(Clone, Debug)]
pub enum Sessions {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Sessions {
    /// The store on `db`, with its table created if missing (SQLite: `tower_sessions`;
    /// PostgreSQL: `tower_sessions.session`).
    pub async fn open(db: &Db) -> sqlx::Result<Sessions> {
        match Self::migrate(db).await {
            Ok(store) => Ok(store),
            // Instances started together on a new PostgreSQL database race to create the
            // schema (`CREATE SCHEMA IF NOT EXISTS` is not safe against a concurrent one);
            // the loser finds it made by the winner on a second try.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                Self::migrate(db).await
            }
        }
    }

    async fn migrate(db: &Db) -> sqlx::Result<Sessions> {
        Ok(match db {
            Db::Sqlite(pool) => {
                let store = SqliteStore::new(pool.clone());
                store.migrate().await?;
                Sessions::Sqlite(store)
            }
            Db::Postgres(pool) => {
                let store = PostgresStore::new(pool.clone());
                store.migrate().await?;
                Sessions::Postgres(store)
            }
        })
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.create(record).await,
            Sessions::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.save(record).await,
            Sessions::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Sessions::Sqlite(s) => s.load(id).await,
            Sessions::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.delete(id).await,
            Sessions::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.delete_expired().await,
            Sessions::Postgres(s) => s.delete_expired().await,
        }
    }
}
