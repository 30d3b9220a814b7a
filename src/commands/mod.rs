//! Commands of the `carebridge` binary that are tools around the gateway rather than parts of a
//! domain: each takes its arguments and runs. (The older commands still live beside the logic
//! they call; they move here as they are next changed.)

pub mod audit;
pub mod import;
pub mod outcomes;
pub mod sample;
pub mod subscriber;
