//! One module per subcommand: its flags (`Args`) and its `run`.

pub(crate) mod bench;
pub(crate) mod chat;
pub(crate) mod convert;
pub(crate) mod eval;
pub(crate) mod info;
pub(crate) mod logits;
pub(crate) mod quantize;
pub(crate) mod run;
pub(crate) mod serve;
pub(crate) mod tokenize;
