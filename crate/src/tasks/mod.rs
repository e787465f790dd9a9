//! Data generators for the toys.

pub mod dyck;
pub mod modular;
pub mod flipflop;
pub mod linreg;
pub mod noisy_answers;
pub mod mqar;
