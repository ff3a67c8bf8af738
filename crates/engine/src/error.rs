//! Errors of the `engine` crate: what failed while loading a model or serving a request.

use std::fmt;

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Why the engine could not do what was asked.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading the model file failed.
    Format(formats::Error),
    /// The model could not be built or run.
    Model(models::Error),
    /// The model's tokenizer could not be built.
    Tokenizer(tokenizer::Error),
    /// A request parameter is out of range.
    InvalidRequest(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Format(e) => write!(f, "{e}"),
            Error::Model(e) => write!(f, "{e}"),
            Error::Tokenizer(e) => write!(f, "{e}"),
            Error::InvalidRequest(why) => write!(f, "invalid request: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Format(e) => Some(e),
            Error::Model(e) => Some(e),
            Error::Tokenizer(e) => Some(e),
            Error::InvalidRequest(_) => None,
        }
    }
}

impl From<formats::Error> for Error {
    fn from(e: formats::Error) -> Self {
        Error::Format(e)
    }
}

impl From<models::Error> for Error {
    fn from(e: models::Error) -> Self {
        Error::Model(e)
    }
}

impl From<tokenizer::Error> for Error {
    fn from(e: tokenizer::Error) -> Self {
        Error::Tokenizer(e)
    }
}
