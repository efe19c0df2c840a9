//! The harnesses' own tests: each starts the real daemon and proves it
//! answers (and refuses what it must).

mod dns;
mod ldap;
mod nginx;
mod turn;
