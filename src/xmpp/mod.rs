//! A small XMPP client that sees every stage of stream negotiation.
