//! `behemoth tokenize`: the token ids of a text, optionally with their pieces.

use anyhow::Result;

use crate::model_arg::ModelArgs;

/// Flags of `behemoth tokenize`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The text.
    text: String,
    #[command(flatten)]
    model: ModelArgs,
    /// Also show each token's piece.
    #[arg(long)]
    pieces: bool,
    /// Do not add the beginning-of-text token.
    #[arg(long = "no-bos")]
    no_bos: bool,
    /// Treat special-token texts such as `<s>` as plain text.
    #[arg(long = "no-parse-special")]
    no_parse_special: bool,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let lm = args.model.load()?;
    let tok = &lm.tokenizer;
    let ids = tok.encode(&args.text, !args.no_bos, !args.no_parse_special);
    if args.pieces {
        for id in ids {
            let piece = String::from_utf8_lossy(&tok.token_to_piece(id, true)).into_owned();
            println!("{id:>7} {piece:?}");
        }
    } else {
        let list: Vec<String> = ids.iter().map(u32::to_string).collect();
        println!("[{}]", list.join(", "));
    }
    Ok(())
}
