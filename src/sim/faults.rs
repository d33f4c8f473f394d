//! Injected faults (sim API helper owns this file).
#[derive(Default, Debug)]
pub struct Faults;
