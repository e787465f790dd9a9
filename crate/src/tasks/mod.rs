//! Data generators for the toys.

pub mod dyck;
pub mod modular;
