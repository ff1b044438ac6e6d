//! One module per subcommand.

pub mod area;
pub mod check;
pub mod import;
pub mod remote;
pub mod render;
pub mod rules;
pub mod serve;
pub mod store;
pub mod token;
