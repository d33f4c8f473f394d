//! (placeholder) The App state, messages, update() and the event loop.
