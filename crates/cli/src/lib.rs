//! The `kodekort` CLI as a library: only its argument definitions, which
//! the binary parses and `xtask/docgen` turns into man pages and shell
//! completions.

pub mod args;
