//! Data generators for the toys.

pub mod dyck;
pub mod flipflop;
pub mod linreg;
pub mod modular;
pub mod mqar;
pub mod noisy_answers;
